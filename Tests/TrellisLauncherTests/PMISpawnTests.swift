import Testing
@testable import TrellisLauncher
import TrellisWire

/// MPI_Comm_spawn over PMI-1, as MPICH's simple PMI writes it (`mcmd=spawn`
/// blocks, one per program, answered once with `spawn_result`), the
/// launcher's service gathering the programs, and the `trellis run` the
/// launcher starts for them.
@Suite struct PMISpawnTests {
    static let programs = [
        PMISpawnProgram(
            count: 2, command: ["./worker", "--name=a b", "x=y"], preput: [PMIKeyValue("PARENT_ROOT_PORT_NAME", "tag#0$port=1$")],
            info: [PMIKeyValue("env", "MODE=fast lane"), PMIKeyValue("env", "B=2")]),
        PMISpawnProgram(count: 1, command: ["/bin/helper"], preput: [PMIKeyValue("PARENT_ROOT_PORT_NAME", "tag#0$port=1$")], info: [PMIKeyValue("host", "n[2-3]")]),
    ]

    @Test func spawnBlocksFrameAndDecodeCutAnywhere() throws {
        let stream = Array((Self.programs.enumerated().map { $0.element.lines(index: $0.offset, of: 2) }.joined() + "cmd=get key=k\n").utf8)
        for cut in 0...stream.count {
            var framer = PMIMessageFramer()
            var seen: [PMICommand] = []
            for part in [stream[..<cut], stream[cut...]] {
                framer.append(part)
                while let message = try framer.next() { seen.append(message.command) }
            }
            #expect(seen.map(\.name) == ["spawn", "spawn", "get"], "cut at \(cut)")
            #expect(try seen.prefix(2).map(PMISpawnProgram.init) == Self.programs, "cut at \(cut)")
            #expect(try PMISpawnProgram.position(in: seen[1]) == (1, 2))
        }
    }

    @Test func anEndlessBlockBreaksTheConnectionInsteadOfGrowing() {
        var framer = PMIMessageFramer()
        framer.append(Array("mcmd=spawn\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: PMIMessageFramer.maximumBlockBytes))
        #expect(throws: PMIProtocolError.self) { try framer.next() }
        #expect(framer.isBroken)
    }

    @Test func theServiceGathersEveryProgramAndAnswersOnce() throws {
        var server = PMIServerState(size: 4, kvsName: "kvs")
        var framer = PMIMessageFramer()
        framer.append(Array(Self.programs.enumerated().map { $0.element.lines(index: $0.offset, of: 2) }.joined().utf8))
        let first = try #require(try framer.next()).command
        let second = try #require(try framer.next()).command
        #expect(server.handle(first, from: 3).isEmpty)
        #expect(server.handle(second, from: 3) == [.spawn(rank: 3, programs: Self.programs)])
        #expect(server.spawnFinished(rank: 3, error: nil) == [.reply(rank: 3, PMICommand("spawn_result", [("rc", "0")]))])
        #expect(server.spawnFinished(rank: 3, error: "no such\nprogram") == [.reply(rank: 3, PMICommand("spawn_result", [("rc", "-1"), ("msg", "no_such_program")]))])
    }

    @Test func hugeCountsAndNewlinesAreNeitherCrashesNorSilence() throws {
        var server = PMIServerState(size: 1, kvsName: "kvs")
        let absurd = "mcmd=spawn\nnprocs=1\nexecname=a\ntotspawns=1\nspawnssofar=1\nargcnt=999999999999\npreput_num=0\ninfo_num=0\nendcmd\n"
        let tooMany = "mcmd=spawn\nnprocs=1\nexecname=a\ntotspawns=1000000000000\nspawnssofar=1\nargcnt=0\npreput_num=0\ninfo_num=0\nendcmd\n"
        // MPICH writes an argument's newline as it is: the line after it continues the value.
        let newline = "mcmd=spawn\nnprocs=1\nexecname=a\ntotspawns=1\nspawnssofar=1\nargcnt=1\narg1=two\nlines\npreput_num=0\ninfo_num=0\nendcmd\n"
        var framer = PMIMessageFramer()
        framer.append(Array((absurd + tooMany + newline).utf8))
        var answers: [String?] = []
        while let (command, _) = try framer.next() {
            for event in server.handle(command, from: 0) {
                if case .reply(_, let reply) = event { answers.append(reply["rc"]) }
                if case .spawn(_, let programs) = event { answers.append(programs[0].command.joined(separator: "|")) }
            }
        }
        #expect(answers == ["-1", "-1", "a|two\nlines"])
        #expect(!PMISpawnProgram(count: 1, command: ["a", "x\ny"]).isWritable)
    }

    @Test func aRefusedProgramOfSeveralIsAnsweredOnceAfterTheLast() {
        var server = PMIServerState(size: 1, kvsName: "kvs")
        let base = [("execname", "a"), ("argcnt", "0"), ("preput_num", "0"), ("info_num", "0")]
        #expect(server.handle(PMICommand("spawn", [("nprocs", "1"), ("totspawns", "3"), ("spawnssofar", "1")] + base), from: 0).isEmpty)
        #expect(server.handle(PMICommand("spawn", [("nprocs", "0"), ("totspawns", "3"), ("spawnssofar", "2")] + base), from: 0).isEmpty)
        let last = server.handle(PMICommand("spawn", [("nprocs", "1"), ("totspawns", "3"), ("spawnssofar", "3")] + base), from: 0)
        guard case .reply(_, let reply)? = last.first, last.count == 1 else { Issue.record("\(last)"); return }
        #expect(reply.name == "spawn_result" && reply["rc"] == "-1")
    }

    @Test func aBadSpawnIsAnsweredWithAnErrorAtOnce() {
        var server = PMIServerState(size: 1, kvsName: "kvs")
        func answer(_ fields: [(String, String)]) -> String? {
            guard case .reply(_, let reply) = server.handle(PMICommand("spawn", fields), from: 0).first, reply.name == "spawn_result" else { return nil }
            return reply["rc"]
        }
        let base = [("execname", "a"), ("argcnt", "0"), ("preput_num", "0"), ("info_num", "0")]
        #expect(answer([("nprocs", "0"), ("totspawns", "1"), ("spawnssofar", "1")] + base) == "-1")
        #expect(answer([("nprocs", "1"), ("totspawns", "1"), ("spawnssofar", "2")] + base) == "-1")
        #expect(answer([("nprocs", "1"), ("totspawns", "1"), ("spawnssofar", "1"), ("execname", "a"), ("argcnt", "2"), ("arg1", "x"), ("preput_num", "0"), ("info_num", "0")]) == "-1")
        // The last program of two without the first: refused, not waited for.
        #expect(answer([("nprocs", "1"), ("totspawns", "2"), ("spawnssofar", "2")] + base) == "-1")
        #expect(answer([("nprocs", "1"), ("totspawns", "1"), ("spawnssofar", "1")] + base) == nil)
    }

    @Test func theSpawnedJobRunsOnTheJobsHostsWithItsSlots() {
        let plan = ProxyTreeTests.plan
        let command = SpawnedJob.command(Array(Self.programs.prefix(1)), plan: plan, readyDescriptor: 3)
        #expect(command == [
            "/opt/trellis", "run", "--ready-fd", "3", "--hosts", "n1:2,n2:1", "--launcher", "ssh", "--ssh", "ssh -F c", "--fanout", "3",
            "--link-timeout", "7.0", "--preput", "PARENT_ROOT_PORT_NAME=tag#0$port=1$", "--env", "PMI_SPAWNED=1", "--env", "MODE=fast lane",
            "--env", "B=2", "-n", "2", "./worker", "--name=a b", "x=y",
        ])
        // A host hint places the job; every program follows ':'.
        let hinted = SpawnedJob.command(Self.programs, plan: plan, readyDescriptor: 3)
        #expect(hinted[4...5] == ["--hosts", "n[2-3]"])
        #expect(Array(hinted.suffix(9)) == ["-n", "2", "./worker", "--name=a b", "x=y", ":", "-n", "1", "/bin/helper"])
    }
}
