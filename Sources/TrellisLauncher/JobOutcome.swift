/// How a job ended, rank by rank: what a cluster tool reports per host.
public struct JobOutcome: Sendable, Equatable {
    /// How one rank ended, as far as the launcher learned.
    public enum End: Sendable, Equatable {
        /// The rank's wait status.
        case exited(status: Int32)
        /// Its host was lost (proxy gone, link cut, ssh failed) before it was reported.
        case lost(reason: String)
        /// No end was reported (the job was stopped before it started).
        case unknown
    }

    /// The job's host names, in host-list order; this host alone for a job run
    /// without a host list.
    public let hosts: [String]
    /// The index in `hosts` of each rank's host.
    public let hostOfRank: [Int]
    /// How each rank ended, indexed by rank.
    public let ends: [End]
    /// The exit code `trellis run` would give.
    public let exitCode: Int32
    /// The time limit passed and the job was stopped.
    public let timedOut: Bool

    /// Makes an outcome from its parts.
    public init(hosts: [String], hostOfRank: [Int], ends: [End], exitCode: Int32, timedOut: Bool) {
        self.hosts = hosts
        self.hostOfRank = hostOfRank
        self.ends = ends
        self.exitCode = exitCode
        self.timedOut = timedOut
    }
}

extension JobLedger {
    /// `exitCode`: the launcher's, which counts spawned jobs' failures too.
    func outcome(exitCode: Int32, timedOut: Bool) -> JobOutcome {
        let rankEnds = hostOfRank.indices.map { rank -> JobOutcome.End in
            if let end = self.ends[rank] { return .exited(status: end.status) }
            if let reason = lostHosts[hostOfRank[rank]] { return .lost(reason: reason) }
            return .unknown
        }
        return JobOutcome(hosts: hosts, hostOfRank: hostOfRank, ends: rankEnds, exitCode: exitCode, timedOut: timedOut)
    }
}
