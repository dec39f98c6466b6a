import Testing
import TrellisLauncher
import TrellisWire

/// PMI-2's wire and the launcher's PMI-2 service, from MPICH's protocol
/// description (pmi-2.0) and what Slurm's libpmi2 sends.
@Suite struct PMI2Tests {
    @Test func framesBothWiresFromOneStreamCutAnywhere() throws {
        /// A length header padded as `pad` does it (Slurm on the right, MPICH on the left, or with zeros).
        func frame(_ body: String, _ pad: (String) -> String) -> [UInt8] { Array((pad(String(body.utf8.count)) + body).utf8) }
        let stream = Array("cmd=init pmi_version=2 pmi_subversion=0\n".utf8)
            + frame("cmd=fullinit;pmirank=0;threaded=FALSE;") { $0 + String(repeating: " ", count: 6 - $0.count) }
            + frame("cmd=kvs-put;key=k;value=a;;b c=d;") { String(repeating: " ", count: 6 - $0.count) + $0 }
            + frame("cmd=kvs-fence;") { String(repeating: "0", count: 6 - $0.count) + $0 }
        for cut in 0...stream.count {
            var framer = PMIMessageFramer()
            var seen: [(PMICommand, PMIWire)] = []
            for part in [stream[..<cut], stream[cut...]] {
                framer.append(part)
                while let message = try framer.next() { seen.append(message) }
            }
            #expect(seen.map(\.0.name) == ["init", "fullinit", "kvs-put", "kvs-fence"], "cut at \(cut)")
            #expect(seen.map(\.1) == [.v1, .v2, .v2, .v2])
            #expect(seen[1].0["pmirank"] == "0" && seen[2].0["value"] == "a;b c=d")
        }
    }

    @Test func encodesWhatItParses() throws {
        let command = PMICommand("kvs-get-response", [("found", "TRUE"), ("value", "x;y=z"), ("rc", "0")])
        let bytes = command.v2Encoded
        #expect(String(decoding: bytes.prefix(6), as: UTF8.self) == "    50")
        #expect(String(decoding: bytes.dropFirst(6), as: UTF8.self) == "cmd=kvs-get-response;found=TRUE;value=x;;y=z;rc=0;")
        var framer = PMIMessageFramer()
        framer.append(bytes)
        #expect(try framer.next()?.command == command)
    }

    @Test func badHeadersAreErrorsThatEndTheConnection() {
        for bad in ["99999999cmd=x;", "  -12 cmd=x;", "000000", "12ab  cmd=x;"] {
            var framer = PMIMessageFramer()
            framer.append(Array(bad.utf8))
            #expect(throws: PMIProtocolError.self, "\(bad)") { _ = try framer.next() }
            #expect(framer.isBroken, "\(bad)")
        }
        var framer = PMIMessageFramer()
        framer.append(Array("     9nocmdhere".utf8))
        #expect(throws: PMIProtocolError.self) { _ = try framer.next() }
        #expect(!framer.isBroken)
        var long = PMIMessageFramer()
        long.append(Array(repeating: UInt8(ascii: "c"), count: PMIMessageFramer.maximumLineBytes + 1))
        #expect(throws: PMIProtocolError.self) { _ = try long.next() }
    }

    private func replies(_ events: [PMIServerState.Event]) -> [Int: PMICommand] {
        var result: [Int: PMICommand] = [:]
        for case .reply(let rank, let command) in events { result[rank] = command }
        return result
    }

    @Test func servesAPMI2JobFromInitToFinalize() {
        var server = PMIServerState(size: 2, kvsName: "job-7", applicationNumbers: [0, 1])
        let started = replies(server.handle(PMICommand("init", [("pmi_version", "2"), ("pmi_subversion", "0")]), from: 1))[1]
        #expect(started?["pmi_version"] == "2" && started?["rc"] == "0")
        let full = replies(server.handle(PMICommand("fullinit", [("pmirank", "1"), ("threaded", "FALSE")]), from: 1, wire: .v2))[1]
        #expect(full?.name == "fullinit-response" && full?["rank"] == "1" && full?["size"] == "2" && full?["appnum"] == "1" && full?["rc"] == "0")
        #expect(full?["debugged"] == "FALSE" && full?["pmiverbose"] == "FALSE")
        let wrongRank = replies(server.handle(PMICommand("fullinit", [("pmirank", "0")]), from: 1, wire: .v2))[1]
        #expect(wrongRank?["rc"] == "-1" && wrongRank?["errmsg"] != nil)
        #expect(replies(server.handle(PMICommand("job-getid"), from: 0, wire: .v2))[0]?["jobid"] == "job-7")
        #expect(replies(server.handle(PMICommand("kvs-put", [("key", "card-1"), ("value", "tcp://b")]), from: 1, wire: .v2))[1]?["rc"] == "0")
        // The fence: the first rank waits; the last releases both, each with its own thread id.
        #expect(server.handle(PMICommand("kvs-fence", [("thrid", "0x1")]), from: 0, wire: .v2).isEmpty)
        let fenced = replies(server.handle(PMICommand("kvs-fence", [("thrid", "0x2")]), from: 1, wire: .v2))
        #expect(fenced[0]?.name == "kvs-fence-response" && fenced[0]?["thrid"] == "0x1" && fenced[1]?["thrid"] == "0x2")
        let got = replies(server.handle(PMICommand("kvs-get", [("jobid", "job-7"), ("srcid", "1"), ("key", "card-1")]), from: 0, wire: .v2))[0]
        #expect(got?["found"] == "TRUE" && got?["value"] == "tcp://b")
        #expect(replies(server.handle(PMICommand("kvs-get", [("key", "none")]), from: 0, wire: .v2))[0]?["found"] == "FALSE")
        #expect(replies(server.handle(PMICommand("info-getjobattr", [("key", "PMI_process_mapping")]), from: 0, wire: .v2))[0]?["found"] == "TRUE")
        // A node attribute waited for is answered when it is put.
        #expect(server.handle(PMICommand("info-getnodeattr", [("key", "shm"), ("wait", "TRUE")]), from: 0, wire: .v2).isEmpty)
        let put = replies(server.handle(PMICommand("info-putnodeattr", [("key", "shm"), ("value", "/dev/shm/x")]), from: 1, wire: .v2))
        #expect(put[1]?.name == "info-putnodeattr-response" && put[0]?["value"] == "/dev/shm/x")
        #expect(replies(server.handle(PMICommand("info-getnodeattr", [("key", "other")]), from: 0, wire: .v2))[0]?["found"] == "FALSE")
        // Anything else is answered with an error, never with silence.
        let unknown = replies(server.handle(PMICommand("name-publish", [("name", "svc"), ("port", "p")]), from: 0, wire: .v2))[0]
        #expect(unknown?.name == "name-publish-response" && unknown?["rc"] == "-1")
        #expect(replies(server.handle(PMICommand("finalize"), from: 0, wire: .v2))[0]?.name == "finalize-response")
        #expect(server.finalized == [0])
        #expect(server.handle(PMICommand("abort", [("isworld", "TRUE"), ("msg", "gave up")]), from: 1, wire: .v2)
            == [.abort(rank: 1, code: 1, message: "gave up")])
    }

    @Test func initAnswersTheVersionAskedForOrAnError() {
        var server = PMIServerState(size: 1, kvsName: "job")
        for (version, subversion) in [("1", "1"), ("1", "2"), ("2", "0")] {
            let answer = replies(server.handle(PMICommand("init", [("pmi_version", version), ("pmi_subversion", subversion)]), from: 0))[0]
            #expect(answer?["pmi_version"] == version && answer?["pmi_subversion"] == subversion && answer?["rc"] == "0")
        }
        let refused = replies(server.handle(PMICommand("init", [("pmi_version", "3"), ("pmi_subversion", "0")]), from: 0))[0]
        #expect(refused?.name == "response_to_init" && refused?["rc"] == "-1")
        // A PMI-1 rank and a PMI-2 rank in one fence are each released in their own words.
        var mixed = PMIServerState(size: 2, kvsName: "job")
        #expect(mixed.handle(PMICommand("barrier_in"), from: 0).isEmpty)
        let out = replies(mixed.handle(PMICommand("kvs-fence"), from: 1, wire: .v2))
        #expect(out[0]?.name == "barrier_out" && out[1]?.name == "kvs-fence-response")
    }
}
