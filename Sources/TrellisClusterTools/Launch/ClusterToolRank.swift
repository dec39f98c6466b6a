import TrellisCore
import TrellisRuntime

/// What a cluster tool that runs as a job (`stage`, `sync`) is asked to do,
/// the same on every rank, and how a rank carries it out.
public protocol ClusterToolRequest: Sendable, Codable {
    /// What the reporting rank hands its observer at the end.
    associatedtype Report: ClusterToolReport
    /// The folder on every host; `%h` stands for the host's name.
    var destination: String { get }
    /// Whether rank 0's host is a destination too (false when the command
    /// runs on a host that only holds the sources).
    var sourceIsDestination: Bool { get set }
    /// Carries out `rank`'s part of the request, blocking until every rank has
    /// its result; true when every host did all it was asked and none was lost.
    static func perform(_ rank: ToolRank<Self>) throws -> Bool
}

extension ClusterToolRequest {
    /// The destination on the host named `host`.
    public func destination(on host: String) -> String {
        destination.replacingOccurrences(of: "%h", with: host)
    }
}

/// One rank's part in a cluster tool's job (`StageRank`, `SyncRank`): the
/// job's communicator, the request and this host's name; run once.
public struct ToolRank<Request: ClusterToolRequest> {
    /// The job's communicator; rank 0 reads the sources.
    public let world: Communicator
    /// What to do, the same on every rank.
    public let request: Request
    /// This host's name, as the job's host list gives it; it fills `%h` in
    /// the destination and names this host in the report.
    public let hostName: String
    /// Where the reporting rank sends progress and the final report; nil for none.
    public var observer: ToolEvents<Request.Report>?
    /// How long the survivors wait for each other after a member dies.
    public var recoverySeconds = 60.0

    /// This rank's part in carrying out `request` over `world`.
    public init(world: Communicator, request: Request, hostName: String) {
        self.world = world
        self.request = request
        self.hostName = hostName
    }

    /// Runs this rank's part (`Request.perform`); true when every host did
    /// all it was asked and none was lost.
    @discardableResult
    public func run() throws -> Bool {
        try Request.perform(self)
    }

    /// Whether `error` says a member died or was cut off, which the survivors
    /// handle by agreeing on who and going on without it.
    static func isPeerFailure(_ error: Error) -> Bool {
        guard let error = error as? TrellisError else { return false }
        return [.peerFailed, .revoked, .connectionFailed, .timedOut].contains(error.code)
    }

    /// The error's own words, without its code.
    static func message(_ error: Error) -> String {
        if let error = error as? TrellisError { return error.message }
        return "\(error)"
    }
}
