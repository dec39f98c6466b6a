/// What `trellis run` was asked to do.
public struct LaunchOptions: Sendable {
    /// The programs of the job, each on its count of ranks, in rank order
    /// (several for an MPMD job: `trellis run -n 2 a : -n 3 b`).
    public var applications: [LaunchApplication]
    /// Prefix every output line with `[rank]`.
    public var tagOutput = false
    /// Seconds between asking the ranks to stop (SIGTERM) and killing them.
    public var graceSeconds: Double = 5
    /// Let the other ranks run on when one fails (fault-tolerant programs);
    /// the job still exits with the first failure's status.
    public var keepGoing = false
    /// Extra environment for every rank.
    public var environment: [String: String] = [:]
    /// A command each rank's program is started through, such as
    /// `trellis exec-rank --`, which ties the rank's life to the launcher's.
    public var rankWrapper: [String] = []

    public init(rankCount: Int, program: [String]) {
        applications = [LaunchApplication(count: rankCount, program: program)]
    }

    public var rankCount: Int { applications.reduce(0) { $0 + $1.count } }

    /// Which application a rank runs (PMI's appnum).
    public func applicationNumber(ofRank rank: Int) -> Int {
        var first = 0
        for (index, application) in applications.enumerated() {
            if rank < first + application.count { return index }
            first += application.count
        }
        return applications.count - 1
    }
}

public struct LaunchApplication: Sendable {
    public var count: Int
    public var program: [String]

    public init(count: Int, program: [String]) {
        self.count = count
        self.program = program
    }
}
