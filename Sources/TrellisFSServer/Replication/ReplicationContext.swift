import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisRuntime

/// What a server with replicas knows beside its stores: which server it is,
/// how many the file system has, where each group is placed, the epochs of
/// the groups, where each copy of each group is served, and how to ask one.
public struct ReplicationContext: Sendable {
    /// This server's index.
    public let server: Int
    /// The file system's servers: a change of a group's members needs more than half of them.
    public let serverCount: Int
    /// Each group's placed members (a group's members are always among them).
    public let placement: ReplicaPlacement
    /// What this server knows and has promised of each group.
    public let epochs: GroupEpochs
    /// The service name of server `server`'s copy of group `group`.
    public let copyServiceName: @Sendable (_ group: Int, _ server: Int) -> String
    /// The service name of server `server`'s own loop (where it votes).
    public let serverServiceName: @Sendable (_ server: Int) -> String
    /// How long a peer may take to answer a probe or a vote.
    public let probeSeconds: Double
    /// How long a copy may take to take one change.
    public let changeSeconds: Double
    /// The most a resync sends per second (nil: as fast as it can).
    public let resyncBytesPerSecond: Double?
    private let runtime: Runtime

    /// A context over `runtime`'s name service.
    public init(
        server: Int, placement: ReplicaPlacement, epochs: GroupEpochs, runtime: Runtime, probeSeconds: Double = 1, changeSeconds: Double = 2,
        resyncBytesPerSecond: Double? = nil,
        copyServiceName: @escaping @Sendable (Int, Int) -> String, serverServiceName: @escaping @Sendable (Int) -> String
    ) {
        self.server = server
        self.serverCount = placement.members.count
        self.placement = placement
        self.epochs = epochs
        self.runtime = runtime
        self.probeSeconds = probeSeconds
        self.changeSeconds = changeSeconds
        self.resyncBytesPerSecond = resyncBytesPerSecond
        self.copyServiceName = copyServiceName
        self.serverServiceName = serverServiceName
    }

    /// A line to server `member`'s copy of `group`, connected on first use.
    public func line(toCopyOf group: Int, on member: Int, requestIDs: RequestIDSource = RequestIDSource()) -> ServerConnection {
        ServerConnection(index: member, serviceName: copyServiceName(group, member), runtime: runtime, requestIDs: requestIDs)
    }

    /// Asks the loop published as `serviceName` (a server's index `index`,
    /// for messages) for `operation`'s answer within `seconds` (default
    /// `probeSeconds`); nil when it does not answer. A server whose process
    /// is gone (its port refuses) fails at once: that is the news a probe is for.
    public func ask<Operation: FSOperation>(_ operation: Operation, of serviceName: String, server index: Int, seconds: Double? = nil) -> Operation.Reply? {
        let line = ServerConnection(index: index, serviceName: serviceName, runtime: runtime, requestIDs: RequestIDSource(), resendsAfterLoss: false)
        defer { line.drop() }
        return try? line.call(operation, credentials: Credentials(uid: 0, gid: 0), deadline: .after(seconds: seconds ?? probeSeconds)).reply
    }

    /// What server `member`'s copy of `group` says of the group; nil when it does not answer.
    public func probe(group: Int, member: Int) -> GroupView? {
        ask(GetGroupView(group: UInt32(group)), of: copyServiceName(group, member), server: member)
    }
}
