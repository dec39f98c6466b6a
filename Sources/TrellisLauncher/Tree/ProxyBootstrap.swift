import Glibc
import TrellisCore
import TrellisSystem

/// How a node of the tree starts the proxy of a child host, in the roles of
/// Hydra's bootstrap servers.
public struct ProxyBootstrap: Sendable, Equatable {
    /// The mechanism that starts proxies on the hosts (`trellis run --launcher`).
    public enum Kind: String, Sendable, CaseIterable {
        /// Every proxy a local process: host names are only labels (tests, one node).
        case fork
        /// `ssh HOST trellis proxy ...`, except for this host itself, which is forked.
        case ssh
        /// One `srun` step inside a Slurm allocation starts every host's proxy;
        /// each says which host it is on, and is sent on to its parent in the tree.
        case slurm
        /// The agent that `trellis agents up` left on each host starts its
        /// proxy (Hydra's `persist` launcher); this host itself is forked.
        case agents
    }

    /// Which mechanism starts the proxies.
    public var kind: Kind
    /// The ssh command and its options, such as `ssh -F cluster.conf -o ConnectTimeout=5`.
    public var sshCommand: [String]
    /// The `trellis` binary on every host (the launcher's own path by default:
    /// clusters share their software over the network file system).
    public var trellisPath: String
    /// `trellis-proxy` beside it, a proxy that starts faster, when the build has one.
    public var proxyPath: String?
    /// For `agents`: the port of each host's agent.
    public var agentPorts: [String: Int]

    /// A bootstrap of the given kind; an empty `sshCommand` means plain `ssh`.
    public init(kind: Kind, sshCommand: [String] = ["ssh"], trellisPath: String, proxyPath: String? = nil, agentPorts: [String: Int] = [:]) {
        self.kind = kind
        self.sshCommand = sshCommand.isEmpty ? ["ssh"] : sshCommand
        self.trellisPath = trellisPath
        self.proxyPath = proxyPath
        self.agentPorts = agentPorts
    }

    /// The port of the agent that starts `host`'s proxy, when agents do.
    func agentPort(for host: String) -> Int? {
        kind == .agents && !Self.isThisHost(host) ? agentPorts[host] : nil
    }

    /// What starts a proxy on any host.
    public var proxyCommand: [String] { proxyPath.map { [$0] } ?? [trellisPath, "proxy"] }

    /// The command that starts the proxy at `position` on `host`, which
    /// connects back to `parent` ("address:port") and proves the job's key,
    /// handed to it in its environment or, over ssh (which passes no
    /// environment), as the first line of its stdin: never on a command
    /// line, which any user of the host may read.
    public func command(host: String, position: Int, parent: String) -> [String] {
        let proxy = proxyCommand + ["--parent", parent, "--position", String(position)]
        guard kind == .ssh, !Self.isThisHost(host) else { return proxy }
        let remote = proxy + ["--key-on-stdin"]
        // ssh hands the remote shell one line; `exec` leaves no shell between sshd and the proxy.
        return sshCommand + ["-T", host, "exec " + remote.map(Self.shellQuoted).joined(separator: " ")]
    }

    /// The one `srun` step that starts a proxy on each of `hosts` (Slurm's
    /// own tree starts them), each connecting back to `parent` to be placed.
    /// `--overlap`: since Slurm 20.11 a step holds its CPUs for itself, so
    /// without it the step of a job the ranks spawn would wait for this one
    /// to end.
    /// The job key goes in the step's environment, which Slurm exports to its tasks.
    public func slurmStep(hosts: [String], parent: String) -> [String] {
        let srun = sshCommand == ["ssh"] ? ["srun"] : sshCommand
        return srun + [
            "--nodes=\(hosts.count)", "--ntasks=\(hosts.count)", "--ntasks-per-node=1", "--nodelist=\(hosts.joined(separator: ","))",
            "--kill-on-bad-exit=1", "--overlap", "--mpi=none", "--quiet", "--input=none",
        ] + proxyCommand + [
            "--parent", parent, "--join",
        ]
    }

    /// `localhost`, a loopback address, or this machine's own host name.
    public static func isThisHost(_ host: String) -> Bool {
        if host == "localhost" || host.hasPrefix("127.") || host == "::1" { return true }
        let name = IPv4Address.thisHostName()
        return host == name || host == name.split(separator: ".").first.map(String.init)
    }

    /// `word` as one word for a POSIX shell: unchanged when it holds only safe
    /// characters, otherwise in single quotes with any `'` escaped.
    public static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}
