import Foundation
import Testing
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis run` over hosts with every proxy forked on this machine
/// (`--launcher fork`): the proxy tree, its PMI, stdio, signals, exit codes
/// and a killed proxy, without network namespaces. The same over real ssh
/// and separate network stacks is in `NamespaceHostsJobTests`.
@Suite(.serialized) struct HostsLauncherJobTests {
    private func run(_ arguments: [String], input: String? = nil, whileRunning: ((CommandRunner.Child) -> Void)? = nil) throws -> JobHarness.Outcome {
        try JobHarness.run(
            [JobHarness.trellis, "run", "--launcher", "fork"] + arguments, environment: ["HOSTS_TEST_MARK": "here"], input: input, timeoutSeconds: 120,
            whileRunning: whileRunning)
    }

    @Test func ranksRunOnEveryHostTaggedWithItAndReportedPerHost() throws {
        let outcome = try run(
            ["-n", "7", "--hosts", "n[1-3]", "--fanout", "2", "--tag-output", "--report", "--map-by", "node",
             "sh", "-c", "echo rank $PMI_RANK of $PMI_SIZE in $(pwd) with $HOSTS_TEST_MARK"])
        #expect(outcome.status == 0, "\(outcome.combined)")
        let hostOf = [1, 2, 3, 1, 2, 3, 1]
        for rank in 0..<7 {
            #expect(outcome.output.contains("[n\(hostOf[rank]):\(rank)] rank \(rank) of 7 in \(FileManager.default.currentDirectoryPath) with here\n"), "\(outcome.combined)")
        }
        #expect(outcome.errors.contains("n1: ranks 0,3,6 exited 0"), "\(outcome.combined)")
        #expect(outcome.errors.contains("n3: ranks 2,5 exited 0"), "\(outcome.combined)")
    }

    @Test func trellisAndMPICHProgramsExchangeAcrossHosts() throws {
        let collectives = JobHarness.binaries.appendingPathComponent("example-collectives").path
        let ours = try run(["-n", "6", "--hosts", "a:2,b:2,c:2", "--fanout", "1", collectives])
        #expect(ours.status == 0, "\(ours.combined)")
        #expect(ours.output.components(separatedBy: "sum 15.0 over 6 ranks").count == 7, "\(ours.combined)")
        let ring = try PMIClientJobTests.build(PMIClientJobTests.mpiRing, named: "ring", compiler: ["mpicc.mpich"])
        defer { try? FileManager.default.removeItem(atPath: (ring as NSString).deletingLastPathComponent) }
        // Blocks of two ranks per host: MPICH learns from the process mapping which ranks share one.
        let mpich = try run(["-n", "6", "--hosts", "a,b,c", "--ppn", "2", ring])
        #expect(mpich.status == 0 && mpich.output.contains("mpich ring: size 6 sum 15 token 15"), "\(mpich.combined)")
        let pmi2 = try PMIClientJobTests.build(PMIClientJobTests.pmi2Exchange, named: "pmi2", compiler: ["cc"], libraries: ["-lpmi2"])
        defer { try? FileManager.default.removeItem(atPath: (pmi2 as NSString).deletingLastPathComponent) }
        let slurm = try run(["-n", "4", "--hosts", "a,b", "--ppn", "2", pmi2])
        #expect(slurm.status == 0, "\(slurm.combined)")
        for rank in 0..<4 {
            #expect(slurm.output.contains("pmi2 rank \(rank) of 4 (appnum 0) read [rank \((rank + 1) % 4); with = and spaces] mapping (vector,(0,2,2))"), "\(slurm.combined)")
        }
    }

    @Test func stdinReachesRankZeroOnItsHostAndTheHighestFailureIsTheExitCode() throws {
        let echoed = try run(["-n", "4", "--hosts", "a,b", "--map-by", "node", "sh", "-c", "cat; echo end-$PMI_RANK"], input: "from-stdin\n")
        #expect(echoed.status == 0, "\(echoed.combined)")
        #expect(echoed.output.components(separatedBy: "from-stdin").count == 2, "\(echoed.combined)")
        let failing = try run(["-n", "4", "--hosts", "a,b", "--keep-going", "--report", "sh", "-c", "[ $PMI_RANK = 1 ] && exit 3; [ $PMI_RANK = 2 ] && exit 5; exit 0"])
        #expect(failing.status == 5, "\(failing.combined)")
        #expect(failing.errors.contains("rank 1 (pid") && failing.errors.contains("on b) exited with code 3"), "\(failing.combined)")
        #expect(failing.errors.contains("a: rank 0 exited 0; rank 2 exited 5"), "\(failing.combined)")
        let killed = try run(["-n", "2", "--hosts", "a,b", "sh", "-c", "[ $PMI_RANK = 1 ] && kill -9 $$; sleep 60"])
        #expect(killed.status == 137, "\(killed.combined)")
        #expect(killed.errors.contains("rank 1 (pid") && killed.errors.contains("on b) was killed by signal 9 (SIGKILL)"), "\(killed.combined)")
    }

    @Test func signalsReachEveryRankOnEveryHost() throws {
        let script = "trap 'echo usr1-$PMI_RANK' USR1; trap 'echo term-$PMI_RANK; exit 0' TERM; echo ready-$PMI_RANK; while true; do sleep 0.05; done"
        var sawUser = false
        let outcome = try run(["-n", "4", "--hosts", "a,b,c", "sh", "-c", script]) { child in
            _ = poll(until: .after(seconds: 30)) { (0..<4).allSatisfy { child.output.contains("ready-\($0)") } }
            kill(child.pid, SIGUSR1)
            sawUser = poll(until: .after(seconds: 30)) { (0..<4).allSatisfy { child.output.contains("usr1-\($0)") } }
            kill(child.pid, SIGTERM)
        }
        #expect(sawUser, "\(outcome.combined)")
        #expect(outcome.status == 128 + SIGTERM, "\(outcome.combined)")
        for rank in 0..<4 { #expect(outcome.output.contains("term-\(rank)"), "\(outcome.combined)") }
    }

    @Test func aKilledProxyIsNamedAndNothingOfTheJobIsLeft() throws {
        var pids: [pid_t] = []
        var proxies: [pid_t] = []
        let outcome = try run(["-n", "6", "--hosts", "a,b,c", "sh", "-c", "echo pid $$; exec sleep 300"]) { child in
            _ = poll(until: .after(seconds: 30)) {
                pids = child.output.split(separator: "\n").compactMap { $0.hasPrefix("pid ") ? pid_t($0.dropFirst(4)) : nil }
                return pids.count == 6
            }
            proxies = Self.processes(matching: "proxy --parent").filter { Self.parentOf($0) != nil }
            let second = proxies.first { (try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8))?.contains("--position\u{0}2\u{0}") == true }
            if let second { kill(second, SIGKILL) }
        }
        #expect(pids.count == 6 && proxies.count >= 3, "\(outcome.combined)")
        #expect(outcome.status == 255, "\(outcome.combined)")
        #expect(outcome.errors.contains("lost host b with ranks 1,4: its proxy on b: the connection closed; stopping the job on every host"), "\(outcome.combined)")
        _ = poll(until: .after(seconds: 10)) { !(pids + proxies).contains(where: JobHarness.isAlive) }
        for pid in pids + proxies { #expect(!JobHarness.isAlive(pid), "process \(pid) outlived the job") }
    }

    @Test func keepGoingLetsTheOtherHostsRunOnAfterALostOne() throws {
        let outcome = try run(["-n", "4", "--hosts", "a,b", "--keep-going", "--report", "sh", "-c", "echo ready-$PMI_RANK; sleep 3; echo survived-$PMI_RANK"]) { child in
            _ = poll(until: .after(seconds: 30)) { (0..<4).allSatisfy { child.output.contains("ready-\($0)") } }
            let proxies = Self.processes(matching: "proxy --parent")
            let second = proxies.first { (try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8))?.contains("--position\u{0}2\u{0}") == true }
            if let second { kill(second, SIGKILL) }
        }
        #expect(outcome.status == 255, "\(outcome.combined)")
        #expect(outcome.errors.contains("lost host b with ranks 1,3: its proxy on b: the connection closed; the other hosts go on (--keep-going)"), "\(outcome.combined)")
        // Host a's ranks finished their work; b's went with their proxy.
        #expect(outcome.output.contains("survived-0") && outcome.output.contains("survived-2"), "\(outcome.combined)")
        #expect(!outcome.output.contains("survived-1") && !outcome.output.contains("survived-3"), "\(outcome.combined)")
        #expect(outcome.errors.contains("a: ranks 0,2 exited 0"), "\(outcome.combined)")
        #expect(outcome.errors.contains("b: ranks 1,3 lost with the host"), "\(outcome.combined)")
    }

    /// Rank 0 runs under a proxy, so its spawn goes up the tree to the
    /// launcher and the answer comes back down; the children's job is placed
    /// on the same (forked) hosts, and a missing program is a clear error.
    @Test func spawnGoesThroughTheTreeAndTheChildrenTalkToTheirParents() throws {
        let outcome = try run(["-n", "3", "--hosts", "a,b,c", "--fanout", "1", JobHarness.conformance, "spawn"])
        #expect(outcome.status == 0 && outcome.output.contains("SPAWNED from 3 ranks"), "\(outcome.combined)")
        for rank in 0..<3 { #expect(outcome.output.components(separatedBy: "spawned child \(rank) of 3 on ").count == 3, "\(outcome.combined)") }
        #expect(outcome.errors.contains("cannot start '/nonexistent/trellis-program'"), "\(outcome.combined)")
    }

    @Test func badHostListsAreClearErrors() throws {
        let unbalanced = try run(["-n", "2", "--hosts", "node[1-", "true"])
        #expect(unbalanced.status != 0 && unbalanced.errors.contains("node[1-"), "\(unbalanced.combined)")
        let missing = try run(["-n", "2", "--hostfile", "/no/such/hostfile", "true"])
        #expect(missing.status != 0 && missing.errors.contains("/no/such/hostfile"), "\(missing.combined)")
        let unreachable = try JobHarness.run([JobHarness.trellis, "run", "-n", "1", "--hosts", "no-such-host.invalid", "true"], timeoutSeconds: 120)
        #expect(unreachable.status != 0 && unreachable.errors.contains("no-such-host.invalid"), "\(unreachable.combined)")
    }

    static func processes(matching text: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(pid_t.init).filter { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.replacingOccurrences(of: "\u{0}", with: " ").contains(text) == true
        }
    }

    static func parentOf(_ pid: pid_t) -> pid_t? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").dropFirst().first.flatMap { pid_t($0) }
    }
}
