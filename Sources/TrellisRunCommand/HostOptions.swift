import ArgumentParser
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisSystem

/// Where a job runs and how its proxies start: the options `trellis run`
/// and the cluster tools (`trellis exec`, ...) share.
public struct HostOptions: ParsableArguments {
    /// `--hosts`: the hosts as a node set, with optional slots per host.
    @Option(help: "Hosts to run on, as a node set: node[01-16], a,b:4 (slots after a colon).")
    public var hosts: String?

    /// `--hostfile`: a file listing the hosts, instead of `--hosts`.
    @Option(help: "A file of hosts, one per line: host, host:N or host slots=N.")
    public var hostfile: String?

    /// `--launcher`: `ssh`, `agents`, `slurm` or `fork`.
    @Option(help: "How proxies start on the hosts: ssh (this host itself is forked), agents (the agents `trellis agents up` left on the hosts, no ssh per job), slurm (one srun step inside an allocation), or fork (every proxy local).")
    public var launcher: String = "ssh"

    /// `--ssh`: the ssh command line that starts proxies on the hosts.
    @Option(help: "The ssh command and its options, as one string: \"ssh -F cluster.conf\".")
    public var ssh: String = "ssh"

    /// `--srun`: the srun command line, for `--launcher slurm`.
    @Option(help: "The srun command and its options, for --launcher slurm.")
    public var srun: String = "srun"

    /// `--fanout`: children per node of the tree the proxies connect back in (at least 1).
    @Option(help: "Children per node of the proxy tree.")
    public var fanout: Int = 8

    /// `--link-timeout`: seconds without a word from a host before its link counts as cut.
    @Option(help: "Seconds of silence after which a link to a host counts as cut.")
    public var linkTimeout: Double = 30

    /// `--launcher-address`: where proxies connect back to, when the default route's address is not
    /// right.
    @Option(help: "The address proxies connect back to (by default the one the route to the hosts leaves from).")
    public var launcherAddress: String?

    /// Options at their defaults; ArgumentParser fills them in.
    public init() {}

    /// Whether hosts were named (or a Slurm allocation stands for them).
    public var namesHosts: Bool { hosts != nil || hostfile != nil || launcher == "slurm" }

    /// Sets the hosts, the bootstrap and the tree in `options`.
    public func apply(to options: inout LaunchOptions) throws {
        options.bootstrap = proxyBootstrap(.ssh, command: ssh)
        guard namesHosts else { return }
        options.hosts = try hostList()
        guard let kind = ProxyBootstrap.Kind(rawValue: launcher) else { throw ValidationError("--launcher takes ssh, agents, slurm or fork, not \(launcher)") }
        options.bootstrap = proxyBootstrap(kind, command: kind == .slurm ? srun : ssh)
        if kind == .agents {
            let path = AgentTable.defaultPath()
            do {
                options.bootstrap.agentPorts = try AgentTable.load(from: path).ports(of: options.hosts!.hosts.map(\.name), tablePath: path)
                _ = try AgentKey.forThisProcess()
            } catch let error as TrellisError {
                throw ValidationError(error.message)
            }
        }
        guard fanout >= 1 else { throw ValidationError("--fanout takes 1 or more") }
        options.fanout = fanout
        guard linkTimeout > 0 else { throw ValidationError("--link-timeout takes a positive number of seconds") }
        options.linkTimeoutSeconds = linkTimeout
        options.launcherAddress = launcherAddress
    }

    /// The hosts of `--hostfile`, of `--hosts`, or else of the Slurm allocation.
    /// Throws `ValidationError` when both options are given, the file cannot be
    /// read, or the list does not parse.
    public func hostList() throws -> HostList {
        do {
            if let hostfile {
                guard hosts == nil else { throw ValidationError("give --hosts or --hostfile, not both") }
                guard let text = readTextFile(hostfile) else { throw ValidationError("cannot read the hostfile \(hostfile)") }
                return try HostList(hostfile: text, named: hostfile)
            }
            if let hosts { return try HostList(parsing: hosts) }
            return try Self.slurmAllocation(ProcessEnvironment.current())
        } catch let error as HostListError {
            throw ValidationError("\(error)")
        }
    }

    /// The hosts of the Slurm allocation this runs in, with their task
    /// counts as slots (SLURM_JOB_NODELIST, SLURM_TASKS_PER_NODE such as `2(x3),1`).
    static func slurmAllocation(_ environment: [String: String]) throws -> HostList {
        guard let nodes = environment["SLURM_JOB_NODELIST"] ?? environment["SLURM_NODELIST"] else {
            throw ValidationError("--launcher slurm runs inside a Slurm allocation (salloc, sbatch) or with --hosts")
        }
        let names = try NodeSet(nodes).names
        var slots: [Int] = []
        for part in (environment["SLURM_TASKS_PER_NODE"] ?? "").split(separator: ",") {
            let count = Int(part.prefix { $0.isNumber }) ?? 1
            let repeats = part.firstIndex(of: "x").flatMap { Int(part[part.index(after: $0)...].prefix { $0.isNumber }) } ?? 1
            slots += repeatElement(count, count: repeats)
        }
        return HostList(names.enumerated().map { HostList.Host(name: $1, slots: slots.indices.contains($0) ? slots[$0] : nil) })
    }
}
