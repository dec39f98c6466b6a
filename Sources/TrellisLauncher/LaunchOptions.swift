/// What `trellis run` was asked to do.
public struct LaunchOptions: Sendable {
    public var rankCount: Int
    public var program: [String]
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
        self.rankCount = rankCount
        self.program = program
    }
}
