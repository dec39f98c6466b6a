import Foundation
import Testing
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis agents up|status|down` and `--launcher agents` on test hosts
/// (network namespaces, each with its own sshd): agents start over ssh
/// once, jobs (exec, run, sync, a shell script) then start through them
/// without ssh, a launcher without the key gets nothing, and `down` leaves
/// no process on any host. They need root and network namespaces;
/// elsewhere they say so and skip.
@Suite(.serialized, .enabled(if: TestHosts.unavailable == nil, "\(TestHosts.unavailable ?? "")"))
struct AgentsJobTests {
    @Test func agentsStartJobsWithoutSshRefuseAStrangerAndLeaveNothingWhenDown() throws {
        let cluster = try TestHosts(count: 4)
        let list = "\(cluster.name)-h[0-3]"
        let environment = ["TRELLIS_AGENTS_FILE": cluster.folder + "/agents", "TRELLIS_AGENT_KEY_FILE": cluster.folder + "/agent.key"]
        func trellis(_ arguments: [String], _ environment: [String: String] = environment) throws -> JobHarness.Outcome {
            try cluster.runAsUser(on: 0, [JobHarness.trellis] + arguments, environment: environment, timeoutSeconds: 120)
        }
        // Before any agent: a clear error that says how to start them.
        let none = try trellis(["exec", "--hosts", list, "--launcher", "agents", "true"])
        #expect(none.status != 0 && none.errors.contains("no agent on \(cluster.name)-h1") && none.errors.contains("trellis agents up"), "\(none.combined)")

        let up = try trellis(["agents", "up", "--hosts", list, "--ssh", "ssh -F \(cluster.sshConfig)"])
        #expect(up.status == 0 && up.output.contains("agents up on \(list) (4)"), "\(up.combined)")
        var mode = stat()
        #expect(stat(cluster.folder + "/agent.key", &mode) == 0 && mode.st_mode & 0o777 == 0o600)
        let status = try trellis(["agents", "status", "--json"])
        let agents = status.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(status.status == 0 && agents.count == 4 && agents.allSatisfy { $0["answers"] as? Bool == true }, "\(status.combined)")
        let pids = agents.compactMap { $0["pid"] as? Int }

        // Jobs start through the agents: exec on every host, an MPICH-style run, a sync.
        let names = try trellis(["exec", "--hosts", list, "--launcher", "agents", "hostname"])
        #expect(names.status == 0, "\(names.combined)")
        for host in cluster.hosts { #expect(names.output.contains("\(host.name)\n"), "\(names.combined)") }
        let collectives = JobHarness.binaries.appendingPathComponent("example-collectives").path
        let ranks = try trellis(["run", "-n", "8", "--hosts", list, "--launcher", "agents", collectives])
        #expect(ranks.status == 0 && ranks.output.components(separatedBy: "sum 28.0 over 8 ranks").count == 9, "\(ranks.combined)")
        let source = cluster.folder + "/tree"
        try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
        try Data("through the agents\n".utf8).write(to: URL(fileURLWithPath: source + "/sub/note"))
        let sync = try trellis(["sync", "--hosts", "\(cluster.name)-h[1-3]", "--launcher", "agents", source, "--to", cluster.localFolder + "/tree"])
        #expect(sync.status == 0, "\(sync.combined)")
        for host in 1...3 {
            #expect(try cluster.run(on: host, ["cat", cluster.localFolder + "/tree/sub/note"]).output == "through the agents\n")
        }
        // A shell script over the hosts: a line on all of them, one on a node set, a cd set once.
        let script = cluster.folder + "/script.tsh"
        try "cd \(cluster.localFolder)\necho $(hostname) in $(pwd)\n@\(cluster.name)-h[2-3] cat tree/sub/note\n".write(toFile: script, atomically: true, encoding: .utf8)
        let shell = try trellis(["shell", "--hosts", list, "--launcher", "agents", script])
        #expect(shell.status == 0, "\(shell.combined)")
        for host in cluster.hosts { #expect(shell.output.contains("\(host.name) in \(cluster.localFolder)\n"), "\(shell.combined)") }
        let header = "\(cluster.name)-h[2-3] (2)"
        let rule = String(repeating: "-", count: max(header.count, 15))
        #expect(shell.output.contains("\(header)\n\(rule)\nthrough the agents\n"), "\(shell.combined)")

        // The proxies the agents started end with their jobs.
        var idle = ""
        _ = poll(until: .after(seconds: 10), intervalMicroseconds: 100_000) {
            idle = (try? trellis(["agents", "status"]).output) ?? ""
            return idle.components(separatedBy: "0 proxies running").count == 5
        }
        #expect(idle.components(separatedBy: "0 proxies running").count == 5, "\(idle)")

        // A launcher holding another key: refused before anything starts; one whose key others may read, too.
        /// The environment of a launcher whose key is a new one in a file of this mode.
        func withOtherKey(_ name: String, mode: mode_t) throws -> [String: String] {
            let path = cluster.folder + "/" + name
            try (AgentKey.random().hex + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, mode)
            return environment.merging(["TRELLIS_AGENT_KEY_FILE": path]) { $1 }
        }
        let refused = try trellis(["exec", "--hosts", list, "--launcher", "agents", "touch \(cluster.localFolder)/stranger-was-here"], try withOtherKey("stranger.key", mode: 0o600))
        #expect(refused.status == 255 && refused.errors.contains("does not hold this agent key"), "\(refused.combined)")
        for host in 1...3 {
            #expect(try cluster.run(on: host, ["sh", "-c", "ls \(cluster.localFolder)/stranger-was-here 2>/dev/null || echo absent"]).output == "absent\n")
        }
        let unsafe = try trellis(["exec", "--hosts", list, "--launcher", "agents", "true"], try withOtherKey("loose.key", mode: 0o644))
        #expect(unsafe.status != 0 && unsafe.errors.contains("may be read by others (mode 644)"), "\(unsafe.combined)")

        let down = try trellis(["agents", "down"])
        #expect(down.status == 0 && down.output.contains("agents stopped on \(list) (4)"), "\(down.combined)")
        _ = poll(until: .after(seconds: 10), intervalMicroseconds: 100_000) { pids.allSatisfy { kill(pid_t($0), 0) != 0 } }
        #expect(pids.count == 4 && pids.allSatisfy { kill(pid_t($0), 0) != 0 }, "agents still running: \(pids)")
        var left = ""
        _ = poll(until: .after(seconds: 15), intervalMicroseconds: 200_000) {
            left = cluster.processesLeft()
            return left.isEmpty
        }
        #expect(left.isEmpty, "left running: \(left)")
        let after = try trellis(["agents", "status"])
        #expect(after.output.contains("no agents in"), "\(after.combined)")
    }

    /// SIGTERM (an init system stopping the agent) ends the agent as
    /// `trellis agents down` does: the proxies it started, and what they
    /// run, end with it rather than living on in their own sessions.
    @Test func aTerminatedAgentEndsTheProxiesItStarted() throws {
        let cluster = try TestHosts(count: 2)
        let environment = ["TRELLIS_AGENTS_FILE": cluster.folder + "/agents", "TRELLIS_AGENT_KEY_FILE": cluster.folder + "/agent.key"]
        func trellis(_ arguments: [String], whileRunning: ((CommandRunner.Child) -> Void)? = nil) throws -> JobHarness.Outcome {
            try cluster.runAsUser(on: 0, [JobHarness.trellis] + arguments, environment: environment, timeoutSeconds: 120, whileRunning: whileRunning)
        }
        defer { _ = try? trellis(["agents", "down"]) }
        let list = "\(cluster.name)-h[0-1]"
        let up = try trellis(["agents", "up", "--hosts", list, "--ssh", "ssh -F \(cluster.sshConfig)"])
        #expect(up.status == 0, "\(up.combined)")
        let status = try trellis(["agents", "status", "--json"])
        let remote = try #require(
            status.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .first { $0["host"] as? String == cluster.hosts[1].name }?["pid"] as? Int,
            "\(status.combined)")
        let agent = pid_t(remote)
        // A duration no other process on this machine sleeps, to find the job's command by.
        let command = "sleep 3\(Int.random(in: 10_000...99_999))"
        var started = false
        let job = try trellis(["exec", "--hosts", cluster.hosts[1].name, "--launcher", "agents", command]) { _ in
            started = poll(until: .after(seconds: 30), intervalMicroseconds: 50_000) { !AgentDaemonJobTests.processes(running: command).isEmpty }
            kill(agent, SIGTERM)
        }
        #expect(started, "the job's command never started: \(job.combined)")
        #expect(!job.timedOut && job.status != 0, "\(job.combined)")
        let ended = poll(until: .after(seconds: 20), intervalMicroseconds: 100_000) {
            !JobHarness.isAlive(agent) && AgentDaemonJobTests.processes(running: command).isEmpty
        }
        #expect(ended, "still running: agent \(JobHarness.isAlive(agent)), the job's command \(AgentDaemonJobTests.processes(running: command))")
        for pid in AgentDaemonJobTests.processes(running: command) { kill(pid, SIGKILL) }
    }
}

/// An agent is a daemon: started from a command whose output someone reads
/// to its end, it keeps none of that command's descriptors, so the reader
/// sees the end when the command ends (a pipe of the caller's held by the
/// agent would keep `cat` below waiting until the agent died). This host
/// only, so no namespaces are needed.
@Suite(.serialized) struct AgentDaemonJobTests {
    @Test func anAgentKeepsNothingOfTheCommandThatStartedIt() throws {
        let folder = NSTemporaryDirectory() + "trellis-agents-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let environment = ProcessEnvironment.current().merging(
            ["TRELLIS_AGENTS_FILE": folder + "/agents", "TRELLIS_AGENT_KEY_FILE": folder + "/agent.key", "T": JobHarness.trellis]) { $1 }
        defer { _ = try? JobHarness.run([JobHarness.trellis, "agents", "down"], environment: environment, timeoutSeconds: 60) }
        // Descriptor 7, a copy of the pipe into cat, is open in `agents up` and in what it starts.
        let up = try JobHarness.run(["sh", "-c", "($T agents up --hosts $(hostname) 7>&1) | cat"], environment: environment, timeoutSeconds: 60)
        #expect(!up.timedOut && up.status == 0 && up.output.contains("agents up on"), "\(up.combined)")
        let status = try JobHarness.run([JobHarness.trellis, "agents", "status"], environment: environment, timeoutSeconds: 60)
        #expect(status.status == 0 && status.output.contains("0 proxies running"), "\(status.combined)")
    }

    /// Processes whose command line is `command`, split at spaces.
    static func processes(running command: String) -> [pid_t] {
        let wanted = command.split(separator: " ").joined(separator: "\0")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let line = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let text = String(decoding: line, as: UTF8.self)
            return text.hasPrefix(wanted) && JobHarness.isAlive(pid) ? pid : nil
        }
    }
}
