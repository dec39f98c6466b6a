import Foundation
import Testing
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// Name service, connect / accept between jobs and singletons, join,
/// failures and clients killed at random points, all as separate processes.
@Suite(.serialized) struct DynamicJobTests {
    let conformance = JobHarness.conformance
    let trellis = JobHarness.trellis

    @Test func nameServiceListsLooksUpAndForgetsDeadPublishers() throws {
        let names = try NameServiceFixture(leaseSeconds: 2)
        let status = try names.names(["status", "--json"])
        #expect(status.status == 0 && status.output.contains("\"names\":0"), "\(status.combined)")
        let missing = try names.names(["lookup", "echo-a"])
        #expect(missing.status != 0 && missing.errors.contains("echo-a"), "\(missing.combined)")

        var environment = names.environment
        environment["TRELLIS_TEST_SERVICE"] = "echo-a"
        _ = try JobHarness.run([conformance, "echo-server"], environment: environment, timeoutSeconds: 120) { server in
            #expect(try! names.waitForName("echo-a", present: true))
            let list = try! names.names(["list", "--json"])
            #expect(list.output.contains("\"service\":\"echo-a\"") && list.output.contains("trellis-port://"), "\(list.combined)")
            // A restarted name service gets the name back from its live publisher.
            names.stop()
            #expect(try! names.names(["lookup", "echo-a"]).status != 0)
            try! names.start(leaseSeconds: 2)
            #expect(try! names.waitForName("echo-a", present: true), "the publisher published again after the restart")
            // A killed publisher's name goes.
            kill(server.pid, SIGKILL)
            #expect(try! names.waitForName("echo-a", present: false, seconds: 10), "name of a killed publisher still listed")
        }
    }

    @Test func publishAndLookupStartANameServiceWhenNoneRuns() throws {
        let address = "127.0.0.1:\(try freePort())"
        defer { _ = try? JobHarness.run([trellis, "names", "stop", "--address", address], timeoutSeconds: 30) }
        let environment = ["TRELLIS_NAME_SERVICE": address, "TRELLIS_TEST_SERVICE": "auto", "TRELLIS_NAMES_AUTOSTART": "1"]
        let server = try JobHarness.run([conformance, "echo-server"], environment: environment, timeoutSeconds: 120) { _ in
            var clientEnvironment = environment
            clientEnvironment["TRELLIS_TEST_ROUNDS"] = "3"
            let client = try! JobHarness.run([conformance, "echo-client"], environment: clientEnvironment, timeoutSeconds: 60)
            #expect(client.status == 0, "\(client.combined)")
        }
        #expect(server.status == 0 && server.output.contains("ECHO SERVER served 1"), "\(server.combined)")
        let status = try JobHarness.run([trellis, "names", "status", "--address", address], timeoutSeconds: 30)
        #expect(status.status == 0, "the autostarted name service runs on: \(status.combined)")
    }

    @Test func jobsAndSingletonsConnectAcceptMergeAndDisconnect() throws {
        let names = try NameServiceFixture()
        var environment = names.environment
        environment["TRELLIS_TEST_SERVICE"] = "jobs"
        environment["TRELLIS_TEST_CLIENTS"] = "3"
        let server = try JobHarness.run([trellis, "run", "-n", "3", conformance, "serve"], environment: environment, timeoutSeconds: 240) { _ in
            for ranks in [2, 1, 4] {
                let command = ranks == 1 ? [conformance, "client"] : [trellis, "run", "-n", String(ranks), conformance, "client"]
                let client = try! JobHarness.run(command, environment: environment, timeoutSeconds: 120)
                #expect(client.status == 0 && client.output.contains("CONNECTED as \(ranks) ranks"), "\(client.combined)")
            }
        }
        #expect(server.status == 0 && server.output.contains("SERVED 3 clients"), "\(server.combined)")

        environment["TRELLIS_TEST_SERVICE"] = "singletons"
        environment["TRELLIS_TEST_CLIENTS"] = "1"
        let single = try JobHarness.run([conformance, "serve"], environment: environment, timeoutSeconds: 120) { _ in
            let client = try! JobHarness.run([conformance, "client"], environment: environment, timeoutSeconds: 120)
            #expect(client.status == 0, "\(client.combined)")
        }
        #expect(single.status == 0 && single.output.contains("SERVED 1 clients"), "\(single.combined)")
    }

    @Test func acceptIsNonblockingTakesDeadlinesAndCancels() throws {
        let outcome = try JobHarness.run([conformance, "accept-controls"], timeoutSeconds: 120)
        #expect(outcome.status == 0 && outcome.output.contains("ACCEPT CONTROLS OK"), "\(outcome.combined)")
    }

    @Test func twoProcessesJoinOverASocket() throws {
        let file = NSTemporaryDirectory() + "trellis-join-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(file) }
        let environment = ["TRELLIS_TEST_JOIN_FILE": file]
        let listener = try JobHarness.run([conformance, "join-listen"], environment: environment, timeoutSeconds: 120) { _ in
            let other = try! JobHarness.run([conformance, "join-connect"], environment: environment, timeoutSeconds: 60)
            #expect(other.status == 0 && other.output.contains("JOINED"), "\(other.combined)")
        }
        #expect(listener.status == 0 && listener.output.contains("JOINED"), "\(listener.combined)")
    }

    @Test(arguments: [1, 2])
    func jobsAndSingletonsSpawnChildrenAndTalkToThem(ranks: Int) throws {
        let command = ranks == 1 ? [conformance, "spawn"] : [trellis, "run", "-n", String(ranks), conformance, "spawn"]
        let outcome = try JobHarness.run(command, timeoutSeconds: 240)
        #expect(outcome.status == 0 && outcome.output.contains("SPAWNED from \(ranks) ranks"), "\(outcome.combined)")
    }

    @Test(arguments: [1, 2, 4])
    func oneSidedWindowsLockPutGetAccumulateAndRefuseBadAccess(ranks: Int) throws {
        try JobHarness.scenario("one-sided", ranks: ranks, timeoutSeconds: 180)
    }

    @Test(arguments: [1, 3, 6])
    func wildcardRootBroadcastsFindTheirRoot(ranks: Int) throws {
        try JobHarness.scenario("wildcard", ranks: ranks, timeoutSeconds: 120)
    }

    @Test(arguments: [3, 4, 7])
    func survivorsOfAKilledRankFailTheirCollectivesAgreeAndShrink(ranks: Int) throws {
        let outcome = try JobHarness.run(
            [trellis, "run", "--keep-going", "-n", String(ranks), conformance, "survive"], timeoutSeconds: 180)
        #expect(outcome.output.contains("SURVIVED the loss of rank \(ranks - 1)"), "\(outcome.combined)")
        #expect(!outcome.errors.contains("FAIL"), "\(outcome.combined)")
        #expect(outcome.errors.contains("rank \(ranks - 1)") && outcome.errors.contains("SIGKILL"), "\(outcome.combined)")
    }

    @Test func serverRanksKilledAtRandomMomentsLeaveSurvivorsThatRecover() throws {
        let seed = ProcessInfo.processInfo.environment["TRELLIS_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        print("serverRanksKilledAtRandomMomentsLeaveSurvivorsThatRecover seed \(seed) (set TRELLIS_TEST_SEED to repeat)")
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<3 {
            let ranks = Int.random(in: 3...5, using: &generator)
            let victim = Int.random(in: 0..<ranks, using: &generator)
            let delay = Double.random(in: 0.05...1.0, using: &generator)
            let outcome = try JobHarness.run([trellis, "run", "--keep-going", "-n", String(ranks), conformance, "recover"], timeoutSeconds: 240) { job in
                var pid: pid_t?
                _ = poll(until: .after(seconds: 60), intervalMicroseconds: 10_000) {
                    pid = job.output.split(separator: "\n").compactMap { line -> pid_t? in
                        let words = line.split(separator: " ")
                        return words.count == 4 && words[1] == "\(victim)" && words[2] == "pid" ? pid_t(words[3]) : nil
                    }.first
                    return pid != nil
                }
                usleep(UInt32(delay * 1_000_000))
                if let pid { kill(pid, SIGKILL) }
            }
            #expect(outcome.output.contains("RECOVERED without rank(s) [\(victim)]"), "seed \(seed), \(ranks) ranks, victim \(victim): \(outcome.combined)")
            #expect(!outcome.errors.contains("FAIL"), "seed \(seed): \(outcome.combined)")
        }
    }

    /// Two processes in two network namespaces joined by a veth pair; the
    /// test takes the link down and both pending receives must fail with
    /// peer-failed (TCP keepalive and user timeout), not wait for their
    /// deadline. With the link back, the client connects again: the new
    /// communicator works, the one the cut broke fails at once on both sides.
    @Test func aCutLinkFailsPendingOperationsOnBothSides() throws {
        let suffix = String(UInt32.random(in: 0...0xFFFF), radix: 16)
        let (serverSpace, clientSpace) = ("trellis-a-\(suffix)", "trellis-b-\(suffix)")
        let subnet = "10.\(Int.random(in: 200...250)).\(Int.random(in: 1...250))"
        func ip(_ arguments: String) throws {
            let outcome = try JobHarness.run(["sh", "-c", "ip " + arguments], timeoutSeconds: 30)
            guard outcome.status == 0 else { throw FixtureFailure(description: "ip \(arguments): \(outcome.combined)") }
        }
        defer {
            _ = try? JobHarness.run(["ip", "netns", "del", serverSpace], timeoutSeconds: 30)
            _ = try? JobHarness.run(["ip", "netns", "del", clientSpace], timeoutSeconds: 30)
        }
        try ip("netns add \(serverSpace)")
        try ip("netns add \(clientSpace)")
        try ip("link add va\(suffix) netns \(serverSpace) type veth peer name vb\(suffix) netns \(clientSpace)")
        try ip("-n \(serverSpace) addr add \(subnet).1/24 dev va\(suffix)")
        try ip("-n \(clientSpace) addr add \(subnet).2/24 dev vb\(suffix)")
        for (space, device) in [(serverSpace, "va\(suffix)"), (clientSpace, "vb\(suffix)")] {
            try ip("-n \(space) link set lo up")
            try ip("-n \(space) link set \(device) up")
        }
        let file = NSTemporaryDirectory() + "trellis-link-\(suffix)"
        defer { unlink(file) }
        func inSpace(_ space: String, host: String, _ scenario: String) -> [String] {
            ["ip", "netns", "exec", space, "env", "TRELLIS_HOST=\(host)", "TRELLIS_FAILURE_DETECTION_SECONDS=2",
             "TRELLIS_TEST_JOIN_FILE=\(file)", "TRELLIS_NAMES_AUTOSTART=0", conformance, scenario]
        }
        var client: JobHarness.Outcome?
        let server = try JobHarness.run(inSpace(serverSpace, host: "\(subnet).1", "link-server"), timeoutSeconds: 150) { _ in
            client = try? JobHarness.run(inSpace(clientSpace, host: "\(subnet).2", "link-client"), timeoutSeconds: 140) { child in
                _ = poll(until: .after(seconds: 60)) { child.output.contains("CONNECTED") }
                _ = try? JobHarness.run(["ip", "-n", serverSpace, "link", "set", "va\(suffix)", "down"], timeoutSeconds: 30)
                _ = poll(until: .after(seconds: 60)) { child.output.contains("LINK LOSS") }
                _ = try? JobHarness.run(["ip", "-n", serverSpace, "link", "set", "va\(suffix)", "up"], timeoutSeconds: 30)
                FileManager.default.createFile(atPath: file + ".up", contents: Data("up".utf8))
            }
        }
        defer { unlink(file + ".up") }
        for (side, outcome) in [("server", server), ("client", client)] {
            #expect(outcome?.status == 0 && outcome?.output.contains("LINK LOSS detected") == true, "\(side): \(outcome?.combined ?? "did not run")")
            #expect(outcome?.output.contains("OLD LINE FAILED, NEW LINE WORKS") == true, "\(side): \(outcome?.combined ?? "did not run")")
        }
    }

    @Test func aServerSurvivesClientsKilledAtRandomPoints() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("aServerSurvivesClientsKilledAtRandomPoints seed \(seed) (set TRELLIS_TEST_SEED to repeat)")
        var generator = SeededGenerator(seed: ProcessInfo.processInfo.environment["TRELLIS_TEST_SEED"].flatMap(UInt64.init) ?? seed)
        let names = try NameServiceFixture()
        var environment = names.environment
        environment["TRELLIS_TEST_SERVICE"] = "echo-kill"
        let killed = 10
        let server = try JobHarness.run([conformance, "echo-server"], environment: environment, timeoutSeconds: 300) { _ in
            for _ in 0..<killed {
                let delay = Double.random(in: 0.05...1.2, using: &generator)
                _ = try! JobHarness.run([conformance, "echo-client"], environment: environment, timeoutSeconds: 60) { client in
                    usleep(UInt32(delay * 1_000_000))
                    kill(client.pid, SIGKILL)
                }
            }
            var last = environment
            last["TRELLIS_TEST_ROUNDS"] = "10"
            let final = try! JobHarness.run([conformance, "echo-client"], environment: last, timeoutSeconds: 120)
            #expect(final.status == 0, "\(final.combined)")
        }
        // Clients killed before they connected are not counted; the server must have outlived all of them.
        #expect(server.status == 0 && server.output.contains("ECHO SERVER served"), "seed \(seed): \(server.combined)")
    }
}

/// `trellis probe` and `trellis bench limits`, at reduced counts to stay quick.
@Suite(.serialized) struct ProbeJobTests {
    @Test func everyProbeRowAnswersYes() throws {
        let outcome = try JobHarness.run([JobHarness.trellis, "probe", "--json", "--objects", "20000"], timeoutSeconds: 900)
        let rows = outcome.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(rows.count == 26, "\(outcome.combined)")
        for row in rows { #expect(row.contains("\"answer\":\"Y\""), "\(row)") }
        #expect(outcome.status == 0, "\(outcome.combined)")
    }

    @Test func limitsHoldClientsAndCyclesWithFlatMemory() throws {
        let outcome = try JobHarness.run(
            [
                JobHarness.trellis, "bench", "limits", "--communicators", "20000", "--receives", "20000", "--windows", "20000",
                "--datatypes", "60000", "--clients", "300", "--cycles", "1500",
            ],
            timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        for check in ["communicators", "posted-receives", "windows", "datatypes", "concurrent-clients", "connect-disconnect-cycles"] {
            let line = outcome.output.split(separator: "\n").first { $0.contains("\"check\":\"\(check)\"") }
            #expect(line?.contains("\"ok\":true") == true, "\(check): \(outcome.combined)")
        }
    }
}
