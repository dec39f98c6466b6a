import TrellisCore
import TrellisHosts
import TrellisSystem

/// What `trellis run` was asked to do.
public struct LaunchOptions: Sendable {
    /// The programs of the job, each on its count of ranks, in rank order
    /// (several for an MPMD job: `trellis run -n 2 a : -n 3 b`).
    public var applications: [LaunchApplication]
    /// Prefix every output line with `[rank]` (`[host:rank]` over hosts).
    public var tagOutput = false
    /// Seconds between asking the ranks to stop (SIGTERM) and killing them.
    public var graceSeconds: Double = 5
    /// Let the other ranks run on when one fails (fault-tolerant programs);
    /// the job still exits with the highest failure's status.
    public var keepGoing = false
    /// Extra environment for every rank.
    public var environment: [String: String] = [:]
    /// Hand ranks `PMI_PORT` and `PMI_ID` to connect to instead of a descriptor in `PMI_FD`.
    public var pmiPort = false
    /// The hosts to run on; nil runs every rank on this host, under the launcher itself.
    public var hosts: HostList?
    /// Ranks per host, whatever the host list says (`--ppn`).
    public var ranksPerHost: Int?
    /// How ranks are placed on `hosts`: filling each host's slots in turn
    /// (`bySlot`, the default) or one rank per host round robin (`byNode`).
    public var order: Placement.Order = .bySlot
    /// How proxies are started on the hosts.
    public var bootstrap = ProxyBootstrap(kind: .ssh, trellisPath: (try? TrellisExecutable.locate()) ?? "trellis")
    /// Children per node of the proxy tree.
    public var fanout = 8
    /// Seconds of silence after which a link of the proxy tree counts as cut.
    public var linkTimeoutSeconds: Double = 30
    /// Print how every host's ranks ended.
    public var report = false
    /// Print how many messages the launcher itself handled.
    public var statistics = false
    /// The address proxies connect back to (by default the one the route to the first host leaves from).
    public var launcherAddress: String?
    /// Keys in the job's PMI store from the start (a spawn's preput keys).
    public var storeEntries: [String: String] = [:]
    /// A descriptor to write one line to once every rank has passed its
    /// first PMI fence (how a spawning launcher learns its spawned job is up).
    public var readyDescriptor: Int32?
    /// Gets the ranks' output and the launcher's notices instead of this
    /// process's stdout and stderr (a cluster tool gathering per host).
    public var watcher: (any JobWatcher)?
    /// Seconds after which the job is stopped as if interrupted (SIGTERM,
    /// then SIGKILL after the grace period); the outcome says it timed out.
    public var timeLimitSeconds: Double?

    /// Options for a job running `program` (the executable and its arguments) on
    /// `rankCount` ranks, every other option at its default.
    public init(rankCount: Int, program: [String]) {
        applications = [LaunchApplication(count: rankCount, program: program)]
    }

    /// The number of ranks in the job, all applications together.
    public var rankCount: Int { applications.reduce(0) { $0 + $1.count } }

    /// Which application a rank runs (PMI's appnum).
    public func applicationNumber(ofRank rank: Int) -> Int { applications.applicationNumber(ofRank: rank) }
}

/// One program of a job and how many ranks run it (one `-n N program` of
/// `trellis run`).
public struct LaunchApplication: Sendable {
    /// The number of ranks that run this program.
    public var count: Int
    /// The executable and its arguments.
    public var program: [String]

    /// A program run on `count` ranks.
    public init(count: Int, program: [String]) {
        self.count = count
        self.program = program
    }
}

extension [LaunchApplication] {
    /// Which application a rank runs, the applications taking ranks in order.
    func applicationNumber(ofRank rank: Int) -> Int {
        var first = 0
        for (index, application) in enumerated() {
            if rank < first + application.count { return index }
            first += application.count
        }
        return count - 1
    }
}
