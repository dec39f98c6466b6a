import Foundation
import Testing
import TrellisCore
import TrellisLauncher

/// Test hosts on this machine (scripts/namespace-hosts.sh): network
/// namespaces on a private bridge, each with its own address, hostname and
/// sshd, which this fixture starts as its children. Everything goes when
/// the fixture does, however the test ended: every process on the hosts
/// ends, and the namespaces, keys and files are removed.
final class TestHosts: @unchecked Sendable {
    let name: String
    let folder: String
    /// Each host's name and address, in order.
    let hosts: [(name: String, address: String)]
    private var sshds: [pid_t] = []

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/namespace-hosts.sh").path

    /// Why test hosts cannot be made here (nil: they can): they need root, `ip netns` and sshd.
    static let unavailable: String? = {
        guard geteuid() == 0 else { return "test hosts are network namespaces, which need root" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else { return "test hosts need /usr/sbin/sshd (openssh-server)" }
        guard (try? CommandRunner.run(["ip", "netns", "list"], environment: [:], input: nil, timeoutSeconds: 30))?.status == 0 else {
            return "ip netns does not work here"
        }
        return nil
    }()

    init(count: Int) throws {
        name = "tt" + String(UInt32.random(in: 0x1000...0xFFFF), radix: 16)
        folder = NSTemporaryDirectory() + "trellis-hosts-\(name)"
        let up = try JobHarness.run(["bash", Self.script, "up", name, String(count), folder], environment: ["TRELLIS_HOSTS_SSHD": "external"], timeoutSeconds: 120)
        guard up.status == 0 else {
            _ = try? JobHarness.run(["bash", Self.script, "down", name, folder], timeoutSeconds: 120)
            throw FixtureFailure(description: "test hosts did not come up: \(up.combined)")
        }
        hosts = up.output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            return words.count == 2 ? (String(words[0]), String(words[1])) : nil
        }
        do {
            for (index, host) in hosts.enumerated() {
                sshds.append(try ProcessSpawner.spawn(
                    arguments: ["ip", "netns", "exec", host.name, "unshare", "--uts", "sh", "-c",
                                "hostname \(host.name) && exec /usr/sbin/sshd -D -f \(folder)/sshd_config.\(index) -E \(folder)/sshd.\(index).log"],
                    environment: ProcessEnvironment.current(), logPath: "\(folder)/sshd.\(index).out"))
            }
            for index in hosts.indices {
                guard poll(until: .after(seconds: 30), intervalMicroseconds: 50_000, { (try? self.ssh(from: 0, to: index, "true", timeoutSeconds: 10))?.status == 0 }) else {
                    throw FixtureFailure(description: "sshd on \(hosts[index].name) does not answer: \(try String(contentsOfFile: "\(folder)/sshd.\(index).log", encoding: .utf8))")
                }
            }
        } catch {
            tearDown()
            throw error
        }
    }

    var sshConfig: String { folder + "/ssh_config" }

    /// `ssh -F` this cluster's config, as one program, for launchers that take
    /// an ssh program but not its options (Hydra's -launcher-exec).
    var sshProgram: String {
        let path = folder + "/ssh"
        if !FileManager.default.fileExists(atPath: path) {
            try? "#!/bin/sh\nexec ssh -F \(sshConfig) \"$@\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        return path
    }

    /// Runs a command on host `index` as a user logged in there would: in
    /// its namespace, under its own hostname (launchers tell their proxies
    /// where to call back by hostname).
    func runAsUser(
        on index: Int, _ arguments: [String], input: String? = nil, timeoutSeconds: Double = 180,
        whileRunning: ((CommandRunner.Child) -> Void)? = nil
    ) throws -> JobHarness.Outcome {
        let name = hosts[index].name
        return try JobHarness.run(
            ["ip", "netns", "exec", name, "unshare", "--uts", "sh", "-c", "hostname \(name) && exec \"$@\"", "sh"] + arguments, input: input,
            timeoutSeconds: timeoutSeconds, whileRunning: whileRunning)
    }

    /// Runs a command on host `index` (in its namespace, as its sshd's sessions would run it).
    func run(on index: Int, _ arguments: [String], timeoutSeconds: Double = 120) throws -> JobHarness.Outcome {
        try JobHarness.run(["ip", "netns", "exec", hosts[index].name] + arguments, timeoutSeconds: timeoutSeconds)
    }

    /// Runs a shell command on host `to` over ssh from host `from`.
    func ssh(from: Int, to: Int, _ command: String, timeoutSeconds: Double = 120) throws -> JobHarness.Outcome {
        try run(on: from, ["ssh", "-F", sshConfig, hosts[to].name, command], timeoutSeconds: timeoutSeconds)
    }

    private func tearDown() {
        for pid in sshds {
            kill(pid, SIGKILL)
            _ = ProcessSpawner.waitForExit(pid)
        }
        sshds = []
        _ = try? JobHarness.run(["bash", Self.script, "down", name, folder], timeoutSeconds: 120)
    }

    deinit { tearDown() }
}
