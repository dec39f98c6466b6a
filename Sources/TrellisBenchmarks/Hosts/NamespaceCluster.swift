import Foundation
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// A "cluster" of hosts on this machine (the namespace-hosts script): network
/// namespaces on a private bridge, each with its own address, hostname and
/// sshd, which this object starts as its children. Each host also has a
/// node-local folder, `localFolder`: one path, a tmpfs of its own on every
/// host (its sshd runs in a private mount namespace), so a file written
/// there on one host is on that host only, as on a node's local disk. Everything goes when it
/// does, however its user ended: every process on the hosts ends, and the
/// namespaces, keys and files are removed. Tests and `trellis bench launch` stand on it.
public final class NamespaceCluster: @unchecked Sendable {
    /// Its random name, which its hosts' names start with.
    public let name: String
    /// The temporary folder of its keys, configs and logs; every host sees it (except
    /// `localFolder`, inside it).
    public let folder: String
    /// Each host's name and address, in order.
    public let hosts: [(name: String, address: String)]
    private var sshds: [pid_t] = []

    /// The node-local folder: the same path on every host, a different tmpfs behind it on each.
    public var localFolder: String { folder + "/local" }

    /// The script that makes and removes the hosts.
    public static var script: String? { Bundle.module.path(forResource: "namespace-hosts", ofType: "sh") }

    /// Why hosts cannot be made here (nil: they can): they need root, `ip netns` and sshd.
    public static let unavailable: String? = {
        guard geteuid() == 0 else { return "namespace hosts are network namespaces, which need root" }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else { return "namespace hosts need /usr/sbin/sshd (openssh-server)" }
        guard script != nil else { return "the namespace-hosts script is missing from this build" }
        guard (try? CommandRunner.run(["ip", "netns", "list"], environment: [:], input: nil, timeoutSeconds: 30))?.status == 0 else {
            return "ip netns does not work here"
        }
        return nil
    }()

    /// Makes `count` hosts named PREFIX-h0 ... with a random prefix that starts with `prefix`.
    public init(count: Int, prefix: String = "tt") throws {
        guard let script = Self.script else { throw TrellisError(.notSupported, "the namespace-hosts script is missing from this build") }
        name = prefix + String(UInt32.random(in: 0x1000...0xFFFF), radix: 16)
        folder = NSTemporaryDirectory() + "trellis-hosts-\(name)"
        var environment = ProcessEnvironment.current()
        environment["TRELLIS_HOSTS_SSHD"] = "external"
        let up = try CommandRunner.run(["bash", script, "up", name, String(count), folder], environment: environment, timeoutSeconds: 300)
        guard up.status == 0 else {
            _ = try? CommandRunner.run(["bash", script, "down", name, folder], timeoutSeconds: 120)
            throw TrellisError(.launchFailed, "namespace hosts did not come up: \(up.combined)")
        }
        hosts = up.output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            return words.count == 2 ? (String(words[0]), String(words[1])) : nil
        }
        do {
            try FileManager.default.createDirectory(atPath: localFolder, withIntermediateDirectories: true)
            for (index, host) in hosts.enumerated() {
                // `ip netns exec`, `unshare` and `sh -c exec` all exec in place: the pid is sshd's,
                // and `run(on:)` enters its namespaces.
                sshds.append(try ProcessSpawner.spawn(
                    arguments: ["ip", "netns", "exec", host.name, "unshare", "--uts", "--mount", "--propagation", "private", "sh", "-c",
                                "hostname \(host.name) && mount -t tmpfs -o mode=1777 tmpfs \(localFolder) && "
                                + "exec /usr/sbin/sshd -D -f \(folder)/sshd_config.\(index) -E \(folder)/sshd.\(index).log"],
                    environment: ProcessEnvironment.current(), logPath: "\(folder)/sshd.\(index).out"))
            }
            for index in hosts.indices {
                guard poll(until: .after(seconds: 60), intervalMicroseconds: 50_000, { (try? self.ssh(from: 0, to: index, "true", timeoutSeconds: 10))?.status == 0 }) else {
                    throw TrellisError(.launchFailed, "sshd on \(hosts[index].name) does not answer: \((try? String(contentsOfFile: "\(folder)/sshd.\(index).log", encoding: .utf8)) ?? "")")
                }
            }
        } catch {
            tearDown()
            throw error
        }
    }

    /// The ssh config (for `ssh -F`) that reaches every host by name.
    public var sshConfig: String { folder + "/ssh_config" }

    /// `ssh -F` this cluster's config, as one program, for launchers that take
    /// an ssh program but not its options (Hydra's -launcher-exec).
    public var sshProgram: String {
        let path = folder + "/ssh"
        if !FileManager.default.fileExists(atPath: path) {
            try? "#!/bin/sh\nexec ssh -F \(sshConfig) \"$@\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        return path
    }

    /// Runs a command on host `index` (in its sshd's namespaces: network,
    /// hostname and mounts, as its sessions would run it).
    public func run(on index: Int, _ arguments: [String], timeoutSeconds: Double = 120) throws -> CommandRunner.Outcome {
        try CommandRunner.run(onHost(index, arguments), timeoutSeconds: timeoutSeconds)
    }

    private func onHost(_ index: Int, _ arguments: [String]) -> [String] {
        ["nsenter", "--target", String(sshds[index]), "--net", "--uts", "--mount", "--"] + arguments
    }

    /// Runs a command on host `index` as a user logged in there would: in
    /// its namespace, under its own hostname (launchers tell their proxies
    /// where to call back by hostname).
    public func runAsUser(
        on index: Int, _ arguments: [String], environment: [String: String] = [:], input: String? = nil, timeoutSeconds: Double = 180,
        whileRunning: ((CommandRunner.Child) -> Void)? = nil
    ) throws -> CommandRunner.Outcome {
        var merged = ProcessEnvironment.current()
        for (key, value) in environment { merged[key] = value }
        return try CommandRunner.run(
            asUser(on: index, arguments), environment: merged, input: input, timeoutSeconds: timeoutSeconds, whileRunning: whileRunning)
    }

    /// The command line that runs `arguments` on host `index` under its own hostname.
    public func asUser(on index: Int, _ arguments: [String]) -> [String] {
        onHost(index, arguments)
    }

    /// Runs a shell command on host `to` over ssh from host `from`.
    public func ssh(from: Int, to: Int, _ command: String, timeoutSeconds: Double = 120) throws -> CommandRunner.Outcome {
        try run(on: from, ["ssh", "-F", sshConfig, hosts[to].name, command], timeoutSeconds: timeoutSeconds)
    }

    /// Processes on the hosts other than their sshds (and Slurm's daemons, when asked), as "host: pid args" lines.
    public func processesLeft(besides daemons: [String] = ["sshd"]) -> String {
        hosts.indices.map { index in
            let listing = (try? run(on: index, ["sh", "-c", "ip netns pids \(hosts[index].name) | xargs -r ps -o pid=,args= -p || true"]).output) ?? ""
            let ours = listing.split(separator: "\n").filter { line in
                // The listing's own pipeline, including its `ip`, which may have ended and not yet been reaped as `ps` runs.
                !daemons.contains { line.contains($0) } && !line.contains("ps -o") && !line.contains("xargs") && !line.contains("ip netns pids")
                    && !line.hasSuffix("[ip] <defunct>")
            }
            return ours.isEmpty ? "" : "\(hosts[index].name): \(ours.joined(separator: " | "))\n"
        }.joined()
    }

    /// Kills every host's sshd and removes the hosts: their processes, the
    /// namespaces, keys and files. Safe to call more than once; `deinit` calls it.
    public func tearDown() {
        for pid in sshds {
            kill(pid, SIGKILL)
            _ = ProcessSpawner.waitForExit(pid)
        }
        sshds = []
        if let script = Self.script { _ = try? CommandRunner.run(["bash", script, "down", name, folder], timeoutSeconds: 120) }
    }

    deinit { tearDown() }
}
