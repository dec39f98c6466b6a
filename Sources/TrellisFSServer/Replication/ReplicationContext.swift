import Synchronization
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
    /// The service name of server `server`'s watch (where it answers probes and votes).
    public let watchServiceName: @Sendable (_ server: Int) -> String
    /// How long a peer may take to answer a probe or a vote.
    public let probeSeconds: Double
    /// How long a copy may take to take one change.
    public let changeSeconds: Double
    /// The most a resync sends per second (nil: as fast as it can).
    public let resyncBytesPerSecond: Double?
    private let runtime: Runtime
    /// What every request to another server carries on a file system with a key.
    private let serversCapability: @Sendable () -> Capability?
    /// Lines to the other servers' watches, kept between probes: a live
    /// server answers on its line without the name service, a dead one's
    /// line fails at once.
    private let watchLines = WatchLines()

    /// A context over `runtime`'s name service.
    public init(
        server: Int, placement: ReplicaPlacement, epochs: GroupEpochs, runtime: Runtime, probeSeconds: Double = 1, changeSeconds: Double = 2,
        resyncBytesPerSecond: Double? = nil,
        copyServiceName: @escaping @Sendable (Int, Int) -> String, watchServiceName: @escaping @Sendable (Int) -> String,
        serversCapability: @escaping @Sendable () -> Capability? = { nil }
    ) {
        self.server = server
        self.serversCapability = serversCapability
        self.serverCount = placement.serverCount
        self.placement = placement
        self.epochs = epochs
        self.runtime = runtime
        self.probeSeconds = probeSeconds
        self.changeSeconds = changeSeconds
        self.resyncBytesPerSecond = resyncBytesPerSecond
        self.copyServiceName = copyServiceName
        self.watchServiceName = watchServiceName
    }

    /// A primary's line to server `member`'s copy of `group`, connected on
    /// first use; every request on it carries the group's epoch. With
    /// `resendsAfterLoss` false a lost copy fails the request at once (a
    /// `SecondaryLine` sends again itself, everything it owes, in order).
    public func line(
        toCopyOf group: Int, on member: Int, requestIDs: RequestIDSource = RequestIDSource(), resendsAfterLoss: Bool = true
    ) -> ServerConnection {
        ServerConnection(
            index: member, serviceName: copyServiceName(group, member), runtime: runtime, requestIDs: requestIDs,
            resendsAfterLoss: resendsAfterLoss, relayEpoch: { [epochs] in epochs.entry(group)?.epoch ?? 0 }, serversCapability: serversCapability)
    }

    /// Asks the loop published as `serviceName` (a server's index `index`,
    /// for messages) for `operation`'s answer within `seconds` (default
    /// `probeSeconds`); nil when it does not answer. A server whose process
    /// is gone (its port refuses) fails at once: that is the news a probe is for.
    public func ask<Operation: FSOperation>(_ operation: Operation, of serviceName: String, server index: Int, seconds: Double? = nil) -> Operation.Reply? {
        let line = ServerConnection(
            index: index, serviceName: serviceName, runtime: runtime, requestIDs: RequestIDSource(), resendsAfterLoss: false, serversCapability: serversCapability)
        defer { line.drop() }
        return try? line.call(operation, credentials: Credentials(uid: 0, gid: 0), deadline: .after(seconds: seconds ?? probeSeconds)).reply
    }

    /// Whether server `server` has started: its watch is published (or was,
    /// and its lease has not run out yet).
    func hasStarted(_ server: Int) -> Bool {
        (try? runtime.lookup(name: watchServiceName(server))) != nil
    }

    /// What server `member` says of `group`; nil when it does not answer.
    public func probe(group: Int, member: Int) -> GroupView? {
        askWatch(GetGroupView(group: UInt32(group)), of: member)
    }

    /// Asks server `server`'s watch for `operation`'s answer within `seconds`
    /// (default `probeSeconds`), on the line kept to it; nil when it does not answer.
    public func askWatch<Operation: FSOperation>(_ operation: Operation, of server: Int, seconds: Double? = nil) -> Operation.Reply? {
        let line = watchLines.take(server) ?? ServerConnection(
            index: server, serviceName: watchServiceName(server), runtime: runtime, requestIDs: RequestIDSource(), resendsAfterLoss: false,
            serversCapability: serversCapability)
        guard let reply = try? line.call(operation, credentials: Credentials(uid: 0, gid: 0), deadline: .after(seconds: seconds ?? probeSeconds)).reply else {
            line.drop()
            return nil
        }
        watchLines.put(line, for: server)
        return reply
    }
}

/// The lines a server keeps to the others' watches, one per server at
/// rest; a line in use is taken out, so no two threads share one.
final class WatchLines: Sendable {
    private let lines = Mutex<[Int: ServerConnection]>([:])

    func take(_ server: Int) -> ServerConnection? { lines.withLock { $0.removeValue(forKey: server) } }

    func put(_ line: ServerConnection, for server: Int) {
        let extra = lines.withLock { lines in
            defer { if lines[server] == nil { lines[server] = line } }
            return lines[server] == nil ? nil : line
        }
        extra?.drop()
    }
}
