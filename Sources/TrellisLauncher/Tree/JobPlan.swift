/// Everything every node of a job's tree needs to know, made once by the
/// launcher and handed down to each proxy as it connects: where every rank
/// runs, what it runs, and how the tree itself grows.
public struct JobPlan: Sendable, Equatable {
    /// PMI's kvsname and job id, unique per job.
    public var kvsName: String
    /// The programs of the job and how many ranks run each, in rank order.
    public var applications: [LaunchApplication]
    /// Host names, in the order of the host list; proxy positions follow it.
    public var hosts: [String]
    /// The index in `hosts` of each rank's host.
    public var hostOfRank: [Int]
    /// MPICH's `PMI_process_mapping` for this placement.
    public var processMapping: String
    /// Variables set for every rank on top of the environment of the process
    /// that starts it; over hosts it also carries the launcher's own environment,
    /// as Hydra does.
    public var environment: [String: String]
    /// Where ranks start, on every host (the launcher's own working directory).
    public var workingDirectory: String
    /// Ranks find their PMI service by `PMI_PORT` and `PMI_ID` (connecting
    /// to it) instead of inheriting a descriptor in `PMI_FD`.
    public var pmiPort = false
    /// Keys every host's PMI service holds from the start: a spawned job's
    /// preput keys, such as the port its parents accept on.
    public var storeEntries: [String: String] = [:]
    /// Seconds between asking ranks to stop (SIGTERM) and killing them (SIGKILL).
    public var graceSeconds: Double
    /// How the proxies hang together, and whether the launcher runs a host's
    /// ranks itself.
    public var tree: TreeShape
    /// How proxies are started on the hosts.
    public var bootstrap: ProxyBootstrap
    /// Seconds of silence after which a link to a parent or child proxy counts as cut.
    public var linkTimeoutSeconds: Double

    /// The number of ranks in the job.
    public var rankCount: Int { hostOfRank.count }

    /// The ranks host `host` runs, in rank order.
    public func ranks(onHost host: Int) -> [Int] {
        hostOfRank.indices.filter { hostOfRank[$0] == host }
    }

    /// Which application a rank runs (PMI's appnum).
    public func applicationNumber(ofRank rank: Int) -> Int { applications.applicationNumber(ofRank: rank) }
}

extension LaunchApplication: Equatable {
    /// Equal when both run the same program on the same number of ranks.
    public static func == (lhs: LaunchApplication, rhs: LaunchApplication) -> Bool {
        lhs.count == rhs.count && lhs.program == rhs.program
    }
}
