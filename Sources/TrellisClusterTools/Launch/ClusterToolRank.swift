import TrellisRuntime

/// What a cluster tool that runs as a job (`stage`, `sync`) is asked to do,
/// the same on every rank.
public protocol ClusterToolRequest: Sendable, Codable {
    /// The folder on every host; `%h` stands for the host's name.
    var destination: String { get }
    /// Whether rank 0's host is a destination too (false when the command
    /// runs on a host that only holds the sources).
    var sourceIsDestination: Bool { get set }
}

extension ClusterToolRequest {
    /// The destination on the host named `host`.
    public func destination(on host: String) -> String {
        destination.replacingOccurrences(of: "%h", with: host)
    }
}

/// One rank's part in a cluster tool's job: made from the job's
/// communicator, the request and this host's name; run once.
public protocol ClusterToolRank {
    /// What the tool is asked to do.
    associatedtype Request: ClusterToolRequest
    /// What the reporting rank hands its observer at the end.
    associatedtype Report: ClusterToolReport
    /// This rank's part in carrying out `request` over `world`; `hostName`
    /// fills `%h` in the destination and names this host in the report.
    init(world: Communicator, request: Request, hostName: String)
    /// Where the reporting rank sends progress and the final report; nil for none.
    var observer: ToolEvents<Report>? { get set }
    /// Runs this rank's part, blocking until every rank has its result; true
    /// when every host did all it was asked and none was lost.
    @discardableResult
    func run() throws -> Bool
}
