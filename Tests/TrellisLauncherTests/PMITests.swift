import Testing
import TrellisLauncher
@testable import TrellisWire

@Suite struct PMITests {
    @Test func parsesAndFormatsLines() throws {
        let command = try PMICommand.parse("cmd=put kvsname=job key=addr-0 value=1.2.3.4:5")
        #expect(command.name == "put")
        #expect(command["key"] == "addr-0")
        #expect(command["value"] == "1.2.3.4:5")
        #expect(command.line == "cmd=put kvsname=job key=addr-0 value=1.2.3.4:5\n")
        #expect(try PMICommand.parse("mcmd=spawn nprocs=2").name == "spawn")
        #expect(throws: PMIProtocolError.self) { try PMICommand.parse("put key=value") }
        #expect(throws: PMIProtocolError.self) { try PMICommand.parse("cmd=put garbage") }
    }

    @Test func fenceReleasesOnlyWhenEveryRankArrived() {
        var server = PMIServerState(size: 3, kvsName: "kvs")
        _ = server.handle(PMICommand("put", [("kvsname", "kvs"), ("key", "a"), ("value", "1")]), from: 0)
        #expect(server.handle(PMICommand("barrier_in"), from: 0).isEmpty)
        #expect(server.handle(PMICommand("barrier_in"), from: 2).isEmpty)
        let released = server.handle(PMICommand("barrier_in"), from: 1)
        #expect(released.count == 3)
        #expect(Set(released.compactMap { event -> Int? in
            if case .reply(let rank, let command) = event, command.name == "barrier_out" { return rank }
            return nil
        }) == [0, 1, 2])
        let got = server.handle(PMICommand("get", [("kvsname", "kvs"), ("key", "a")]), from: 2)
        #expect(got == [.reply(rank: 2, PMICommand("get_result", [("rc", "0"), ("value", "1")]))])
    }

    @Test func answersErrorsInsteadOfFailing() {
        var server = PMIServerState(size: 1, kvsName: "kvs")
        let missing = server.handle(PMICommand("get", [("kvsname", "kvs"), ("key", "nope")]), from: 0)
        guard case .reply(_, let reply) = missing.first else { Issue.record("no reply"); return }
        #expect(reply["rc"] == "-1")
        let long = String(repeating: "x", count: 5000)
        let refused = server.handle(PMICommand("put", [("kvsname", "kvs"), ("key", "k"), ("value", long)]), from: 0)
        guard case .reply(_, let put) = refused.first else { Issue.record("no reply"); return }
        #expect(put["rc"] == "-1")
        let unknown = server.handle(PMICommand("frobnicate"), from: 0)
        guard case .reply(_, let answer) = unknown.first else { Issue.record("no reply"); return }
        #expect(answer["rc"] == "-1")
        #expect(server.handle(PMICommand("get", [("key", "PMI_process_mapping")]), from: 0)
            == [.reply(rank: 0, PMICommand("get_result", [("rc", "0"), ("value", "(vector,(0,1,1))")]))])
    }
}
