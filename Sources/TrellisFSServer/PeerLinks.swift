import Synchronization
import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisRuntime

/// A server's lines to the other servers of its file system, for the work
/// it fans out. Connections are made on first use through the name
/// service and kept; each is used by one thread at a time (a worker checks
/// one out per request), so concurrent fan-outs never share one.
public final class PeerLinks: Sendable {
    private let runtime: Runtime
    private let serviceNames: [String]
    private let requestIDs = RequestIDSource()
    private let idle: Mutex<[Int: [ServerConnection]]> = Mutex([:])
    /// Peers act for the file system, not for a user.
    private let credentials = Credentials(uid: 0, gid: 0)

    /// Lines to the servers `serviceNames` lists (by index), made on first use.
    public init(runtime: Runtime, serviceNames: [String]) {
        self.runtime = runtime
        self.serviceNames = serviceNames
    }

    /// A request on its way to a peer, with the connection it holds.
    public struct Flight<Operation: FSOperation> {
        let connection: ServerConnection
        let inFlight: ServerConnection.InFlight<Operation>
    }

    /// Sends `operation` to peer `server` on an idle line (or a new one) without
    /// waiting; `finish` takes the answer. Throws `staleHandle` for a server
    /// this file system does not have (a handle from a client names any number).
    public func start<Operation: FSOperation>(_ operation: Operation, to server: Int, deadline: Deadline) throws -> Flight<Operation> {
        guard serviceNames.indices.contains(server) else {
            throw FSError(.staleHandle, "there is no server \(server) in this file system of \(serviceNames.count)")
        }
        let connection = idle.withLock { $0[server]?.popLast() }
            ?? ServerConnection(index: server, serviceName: serviceNames[server], runtime: runtime, requestIDs: requestIDs)
        return Flight(connection: connection, inFlight: connection.start(operation, credentials: credentials, deadline: deadline))
    }

    /// The peer's answer, retried on a new connection as the connection's one policy allows.
    public func finish<Operation: FSOperation>(_ flight: Flight<Operation>, deadline: Deadline) throws -> ServerConnection.Answer<Operation.Reply> {
        defer { idle.withLock { $0[flight.connection.index, default: []].append(flight.connection) } }
        return try flight.connection.finish(flight.inFlight, deadline: deadline)
    }

    /// Sends `operation` to peer `server` and waits for its answer.
    public func call<Operation: FSOperation>(_ operation: Operation, to server: Int, deadline: Deadline) throws -> ServerConnection.Answer<Operation.Reply> {
        try finish(try start(operation, to: server, deadline: deadline), deadline: deadline)
    }

    /// Disconnects every idle connection.
    public func close() {
        for connection in idle.withLock({ $0.values.flatMap { $0 } }) { connection.drop() }
    }
}
