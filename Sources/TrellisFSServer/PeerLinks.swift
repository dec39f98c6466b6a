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

    public init(runtime: Runtime, serviceNames: [String]) {
        self.runtime = runtime
        self.serviceNames = serviceNames
    }

    /// A request on its way to a peer, with the connection it holds.
    public struct Flight {
        let connection: ServerConnection
        let inFlight: ServerConnection.InFlight?
        let request: FSRequest
    }

    public func start(_ request: FSRequest, to server: Int, deadline: Deadline) -> Flight {
        let connection = idle.withLock { $0[server]?.popLast() }
            ?? ServerConnection(index: server, serviceName: serviceNames[server], runtime: runtime, requestIDs: requestIDs)
        return Flight(connection: connection, inFlight: try? connection.start(request, credentials: credentials, deadline: deadline), request: request)
    }

    /// The peer's answer; a lost connection is tried again on a new one
    /// while the deadline allows (idempotent requests only).
    public func finish(_ flight: Flight, deadline: Deadline) throws -> ServerConnection.Answer {
        defer { idle.withLock { $0[flight.connection.index, default: []].append(flight.connection) } }
        if let inFlight = flight.inFlight {
            do {
                return try flight.connection.finish(inFlight, deadline: deadline)
            } catch let error as FSError {
                throw error
            } catch {
                flight.connection.drop()
                guard flight.request.isIdempotent else {
                    throw FSError(.serverUnavailable, "server \(flight.connection.index): \(error)")
                }
            }
        }
        return try flight.connection.call(flight.request, credentials: credentials, deadline: deadline)
    }

    public func call(_ request: FSRequest, to server: Int, deadline: Deadline) throws -> ServerConnection.Answer {
        try finish(start(request, to: server, deadline: deadline), deadline: deadline)
    }

    /// Disconnects every idle connection.
    public func close() {
        for connection in idle.withLock({ $0.values.flatMap { $0 } }) { connection.drop() }
    }
}
