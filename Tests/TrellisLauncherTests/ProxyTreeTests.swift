import Glibc
import NIOCore
import Testing
import TrellisCore
@testable import TrellisLauncher

/// The launcher's proxy tree: its shape, the messages on its links, and the
/// launcher's account of how a job ended.
@Suite struct ProxyTreeTests {
    @Test(arguments: [(1, 1), (1, 8), (2, 1), (5, 2), (16, 2), (16, 8), (17, 4), (100, 3), (1000, 32)])
    func everyHostHangsOnceUnderItsParent(hosts: Int, fanout: Int) {
        let tree = TreeShape(hostCount: hosts, fanout: fanout)
        var seen: [Int] = []
        for position in 0...hosts {
            for child in tree.children(of: position) {
                #expect(tree.parent(of: child) == position)
                seen.append(tree.host(atPosition: child))
            }
            #expect(tree.children(of: position).count <= fanout)
        }
        #expect(seen.sorted() == Array(0..<hosts))
        #expect(tree.hostsBelow(0) == Array(0..<hosts))
        // Each host's subtree holds it, and routing from any node reaches it through one child.
        for host in 0..<hosts {
            let position = tree.position(ofHost: host)
            #expect(tree.hostsBelow(position).contains(host))
            var node = 0
            var hops = 0
            while node != position {
                guard let next = tree.child(of: node, towards: host) else {
                    Issue.record("no route from \(node) to host \(host)")
                    break
                }
                node = next
                hops += 1
            }
            #expect(hops <= tree.depth)
        }
        // The launcher's own links stay at the fanout; the depth grows like a logarithm.
        #expect(tree.children(of: 0).count == min(fanout, hosts))
        var capacity = 1
        var levels = 0
        while capacity - 1 < hosts {
            capacity = capacity * fanout + 1
            levels += 1
            if fanout == 1 { capacity = levels + 1 }
        }
        #expect(tree.depth == (fanout == 1 ? hosts : levels), "hosts \(hosts) fanout \(fanout)")
    }

    @Test(arguments: [(1, 0), (3, 0), (3, 1), (3, 2), (10, 4), (17, 16)])
    func theLaunchersOwnHostHasNoProxyAndTheRestKeepTheirOrder(hosts: Int, launcherHost: Int) {
        let tree = TreeShape(hostCount: hosts, fanout: 2, launcherHost: launcherHost)
        #expect(tree.proxyCount == hosts - 1)
        #expect(tree.position(ofHost: launcherHost) == 0)
        #expect(tree.child(of: 0, towards: launcherHost) == nil)
        let proxied = (1...max(1, tree.proxyCount)).prefix(tree.proxyCount).map(tree.host(atPosition:))
        #expect(proxied == (0..<hosts).filter { $0 != launcherHost })
        for host in proxied { #expect(tree.host(atPosition: tree.position(ofHost: host)) == host) }
        #expect(tree.hostsBelow(0) == Array(0..<hosts))
    }

    static let plan = JobPlan(
        kvsName: "trellis-1-2", applications: [LaunchApplication(count: 2, program: ["a", "x y"]), LaunchApplication(count: 1, program: ["b"])],
        hosts: ["n1", "n2"], hostOfRank: [0, 1, 0], processMapping: "(vector,(0,2,1))", environment: ["A": "1", "B": "two words"],
        workingDirectory: "/tmp", graceSeconds: 2.5, tree: TreeShape(hostCount: 2, fanout: 3, launcherHost: 1),
        bootstrap: ProxyBootstrap(kind: .ssh, sshCommand: ["ssh", "-F", "c"], trellisPath: "/opt/trellis"), linkTimeoutSeconds: 7)

    static let messages: [LinkMessage] = [
        .hello(position: 3, nonce: [1, 2, 3], proof: [4, 5]), .challenge(nonce: [9, 8]), .welcome(proof: []), .fenceEnter(puts: ["k": "v", "card-1": "1@10.0.0.1:5"]), .output(rank: 2, stream: 2, bytes: Array("line\n".utf8)),
        .rankEnded(rank: 1, pid: 4242, status: 0x0300, unfinalized: true), .abort(rank: 0, code: -3, message: "bye"),
        .lost(hosts: [1, 4], reason: "cut"), .notice("n2: hello"), .done, .plan(plan), .fenceRelease(puts: [:]), .input([0, 1, 2]), .inputEnd,
        .signal(10), .stop(15), .kill, .heartbeat, .join(host: "n1.cluster", port: 4000, nonce: [7], proof: [6, 6]), .reparent(position: 3, parent: "10.0.0.1:5"),
        .batch([.done, .output(rank: 0, stream: 1, bytes: [65, 10]), .rankEnded(rank: 0, pid: 1, status: 0, unfinalized: false)]),
        .spawn(rank: 2, programs: PMISpawnTests.programs), .spawnResult(rank: 2, error: ""), .spawnResult(rank: 0, error: "no program"),
        .plan(spawnedPlan),
    ]

    static var spawnedPlan: JobPlan {
        var plan = plan
        plan.storeEntries = ["PARENT_ROOT_PORT_NAME": "10.0.0.1:5#3"]
        return plan
    }

    @Test func everyMessageCrossesALinkCutAnywhere() throws {
        var stream: [UInt8] = []
        for message in Self.messages {
            var frame = message.encoded()
            stream += frame.readBytes(length: frame.readableBytes)!
        }
        for cut in stride(from: 0, through: stream.count, by: 7) {
            var buffer = ByteBuffer()
            var seen: [LinkMessage] = []
            for part in [stream[..<cut], stream[cut...]] {
                buffer.writeBytes(part)
                while let message = try LinkMessage.decode(from: &buffer) { seen.append(message) }
            }
            #expect(seen == Self.messages, "cut at \(cut)")
        }
    }

    @Test func truncatedOrCorruptFramesAreErrorsNotCrashes() throws {
        for message in Self.messages {
            var frame = message.encoded()
            let bytes = frame.readBytes(length: frame.readableBytes)!
            // The body cut short, with a length that claims it whole.
            for keep in 5..<bytes.count {
                var buffer = ByteBuffer()
                buffer.writeInteger(UInt32(keep - 4))
                buffer.writeBytes(bytes[4..<keep])
                #expect(throws: LinkError.self, "\(message.name) cut to \(keep)") { _ = try LinkMessage.decode(from: &buffer) }
            }
        }
        var huge = ByteBuffer()
        huge.writeInteger(UInt32.max)
        #expect(throws: LinkError.self) { _ = try LinkMessage.decode(from: &huge) }
        var nested = LinkMessage.batch([.batch([.done])]).encoded()
        #expect(throws: LinkError.self) { _ = try LinkMessage.decode(from: &nested) }
        var unknown = ByteBuffer()
        unknown.writeInteger(UInt32(1))
        unknown.writeInteger(UInt8(99))
        #expect(throws: LinkError.self) { _ = try LinkMessage.decode(from: &unknown) }
        var seeded = SeededGenerator(seed: 17)
        for _ in 0..<2000 {
            var noise = ByteBuffer()
            let length = Int(seeded.next() % 64)
            noise.writeInteger(UInt32(length))
            noise.writeBytes((0..<length).map { _ in UInt8(truncatingIfNeeded: seeded.next()) })
            _ = try? LinkMessage.decode(from: &noise)
        }
    }

    @Test func sshBootstrapQuotesTheRemoteCommand() {
        let bootstrap = ProxyBootstrap(kind: .ssh, sshCommand: ["ssh", "-F", "my config"], trellisPath: "/opt/it's/trellis")
        let command = bootstrap.command(host: "node7", position: 4, parent: "10.0.0.1:4000")
        #expect(command == ["ssh", "-F", "my config", "-T", "node7", "exec '/opt/it'\\''s/trellis' proxy --parent 10.0.0.1:4000 --position 4 --key-on-stdin"])
        let local = bootstrap.command(host: "localhost", position: 1, parent: "127.0.0.1:1")
        #expect(local == ["/opt/it's/trellis", "proxy", "--parent", "127.0.0.1:1", "--position", "1"])
        #expect(ProxyBootstrap(kind: .fork, trellisPath: "trellis").command(host: "node7", position: 1, parent: "a:1").first == "trellis")
    }

    @Test func theLedgerStopsOnTheFirstFailureAndExitsWithTheHighest() {
        var ledger = JobLedger(hosts: ["a", "b"], hostOfRank: [0, 1, 0, 1], keepGoing: false, namesHosts: true)
        #expect(ledger.ranksEnded([(0, .init(pid: 10, status: 0, unfinalized: false))]) == .init())
        let failed = ledger.ranksEnded([(1, .init(pid: 11, status: 3 << 8, unfinalized: false)), (3, .init(pid: 13, status: 9, unfinalized: false))])
        #expect(failed.stop == SIGTERM)
        // The killed rank is named first, with its host.
        #expect(failed.messages.first?.hasPrefix("rank 3 (pid 13 on b) was killed by signal 9 (SIGKILL); stopping") == true, "\(failed.messages)")
        #expect(ledger.exitCode == 137)
        ledger.stopping(with: SIGTERM)
        // Deaths the stop caused are not failures.
        #expect(ledger.ranksEnded([(2, .init(pid: 12, status: SIGTERM, unfinalized: true))]).messages.isEmpty)
        #expect(ledger.exitCode == 137)
        #expect(ledger.report() == ["a: rank 0 exited 0; rank 2 killed by SIGTERM", "b: rank 1 exited 3; rank 3 killed by SIGKILL"])
    }

    @Test func aLostHostFailsItsRanksAndKeepGoingLetsTheRestRun() {
        var ledger = JobLedger(hosts: ["a", "b", "c"], hostOfRank: [0, 1, 2, 1], keepGoing: true, namesHosts: true)
        let lost = ledger.hostsLost([1], reason: "its proxy on b: the connection closed")
        #expect(lost.stop == nil)
        #expect(lost.messages == ["lost host b with ranks 1,3: its proxy on b: the connection closed; the other hosts go on (--keep-going)"])
        #expect(ledger.exitCode == 255)
        #expect(ledger.hostsLost([1], reason: "again") == .init())
        #expect(ledger.report()[1] == "b: ranks 1,3 lost with the host (its proxy on b: the connection closed)")
        var strict = JobLedger(hosts: ["a"], hostOfRank: [0, 0], keepGoing: false, namesHosts: false)
        #expect(strict.ranksEnded([(1, .init(pid: 5, status: 0, unfinalized: true))]).messages == ["rank 1 (pid 5) exited without finalizing; stopping the other ranks"])
        #expect(strict.exitCode == 1)
        strict.stopping(with: SIGTERM)
        // Once the job is stopping, an abort is only said and a second signal changes nothing here.
        #expect(strict.aborted(rank: 0, code: 7, message: "") == .init(messages: ["rank 0 aborted the job (code 7)"]))
        #expect(strict.interrupted(by: SIGINT) == .init())
        #expect(strict.exitCode == 1)
        #expect(JobLedger.ranges([5, 0, 1, 2, 7, 8]) == "0-2,5,7-8")
    }
}

