import TrellisCore
import TrellisHosts
import TrellisLauncher

/// `trellis exec`: one command on every host, in the manner of pdsh and
/// clush, started through the launcher's proxy tree (one rank per host).
/// A host that fails, times out or cannot be reached ends only its own
/// part; the others run to their end.
public struct ExecJob {
    /// Where and how: the hosts (one rank each) and the bootstrap. Its
    /// applications, placement and failure handling are set here.
    public var options: LaunchOptions
    /// The command, as one line for each host's shell (as pdsh and clush pass it).
    public var command: String
    /// Seconds after which the hosts still running are stopped and named.
    public var timeoutSeconds: Double?
    /// Print each line at once behind its host's name instead of folding at the end.
    public var live = false
    /// Show hosts done on a terminal while waiting.
    public var showProgress = true

    /// A job that runs `command` on the hosts `options` names, with no timeout,
    /// output folded at the end and progress shown on a terminal.
    public init(options: LaunchOptions, command: String) {
        self.options = options
        self.command = command
    }

    /// Runs the command everywhere; returns each host's result, in host order,
    /// and the launcher's notices (for --json and for errors).
    public func run() throws -> (results: [HostResult], notices: [String]) {
        guard let list = options.hosts, !list.hosts.isEmpty else {
            throw TrellisError(.invalidArgument, "trellis exec needs hosts: --hosts LIST, --hostfile FILE or a Slurm allocation")
        }
        guard command.contains(where: { !$0.isWhitespace }) else { throw TrellisError(.invalidArgument, "name a command to run") }
        var options = options
        let hosts = NodeSet(list.names).names
        options.hosts = HostList(hosts.map { .init(name: $0, slots: 1) })
        options.applications = [LaunchApplication(count: hosts.count, program: ["/bin/sh", "-c", command])]
        options.ranksPerHost = 1
        options.keepGoing = true
        options.timeLimitSeconds = timeoutSeconds
        let gatherer = HostOutputGatherer(hostOfRank: hosts, live: live, showProgress: showProgress)
        options.watcher = gatherer
        let outcome = try JobLauncher(options: options).runToOutcome()
        gatherer.finish()
        let results = hosts.indices.map { rank -> HostResult in
            let end: HostResult.End
            switch outcome.ends.indices.contains(rank) ? outcome.ends[rank] : .unknown {
            case .exited(let status):
                let signal = status & 0x7f
                if outcome.timedOut && signal != 0 {
                    end = .timedOut
                } else {
                    end = .exited(code: signal != 0 ? 128 + signal : (status >> 8) & 0xff)
                }
            case .lost(let reason):
                end = .unreachable(reason: reason)
            case .unknown:
                end = outcome.timedOut ? .timedOut : .unreachable(reason: "no end was reported")
            }
            return HostResult(host: hosts[rank], output: gatherer.outputs[rank], end: end)
        }
        return (results, gatherer.notices)
    }
}
