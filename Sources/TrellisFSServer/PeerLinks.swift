import Synchronization
import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime

/// A server's lines to the other servers of its file system, for the work
/// it fans out. Connections are made on first use through the name
/// service and kept; each is used by one thread at a time (a worker checks
/// one out per request), so concurrent fan-outs never share one.
public final class PeerLinks: Sendable {
    private let runtime: Runtime
    private let serviceNames: [[String]]
    private let requestIDs = RequestIDSource()
    private let idle: Mutex<[Int: [ServerConnection]]> = Mutex([:])
    /// Groups this process serves as primary: a request to one of them is
    /// answered here, not through a connection to this process's own port.
    private let local: Mutex<[Int: RequestHandler]> = Mutex([:])
    /// Peers act for the file system, not for a user.
    private let credentials = Credentials(uid: 0, gid: 0)
    /// What every request to a peer carries on a file system with a key.
    private let serversCapability: @Sendable () -> Capability?
    /// Set once the server stops: a request still waiting on a lost peer (a
    /// pool refill from a server stopped first) ends now, not at its deadline.
    private let stopping = Atomic<Bool>(false)

    /// Lines to the servers `serviceNames` lists (by index: each server's
    /// own name, then the other copies of its group), made on first use;
    /// every request carries `serversCapability`.
    public init(runtime: Runtime, serviceNames: [[String]], serversCapability: @escaping @Sendable () -> Capability? = { nil }) {
        self.runtime = runtime
        self.serviceNames = serviceNames
        self.serversCapability = serversCapability
    }

    /// A request on its way to a peer, with the connection it holds (or,
    /// for a group this process serves, its answer already).
    public struct Flight<Operation: FSOperation> {
        let connection: ServerConnection?
        let inFlight: ServerConnection.InFlight<Operation>?
        let answered: Result<ServerConnection.Answer<Operation.Reply>, FSError>?
    }

    /// Serves `group`'s requests through `handler` in this process (nil: through its port again).
    func serveLocally(_ group: Int, by handler: RequestHandler?) {
        local.withLock { $0[group] = handler }
    }

    /// Sends `operation` to peer `server` on an idle line (or a new one) without
    /// waiting; `finish` takes the answer. Throws `staleHandle` for a server
    /// this file system does not have (a handle from a client names any number).
    public func start<Operation: FSOperation>(_ operation: Operation, to server: Int, deadline: Deadline) throws -> Flight<Operation> {
        guard serviceNames.indices.contains(server) else {
            throw FSError(.staleHandle, "there is no server \(server) in this file system of \(serviceNames.count)")
        }
        if let handler = local.withLock({ $0[server] }) {
            let envelope = FSRequestEnvelope(
                requestID: requestIDs.next(), clientID: requestIDs.clientID, credentials: credentials, operation: operation, capability: serversCapability())
            let (reply, followUps) = handler.handle(envelope)
            for followUp in followUps { handler.carryOut(followUp) }
            let answered: Result<ServerConnection.Answer<Operation.Reply>, FSError>
            do {
                answered = .success(ServerConnection.Answer(reply: try reply.reply(to: Operation.self), steps: Int(reply.steps)))
            } catch let error as FSError {
                answered = .failure(error)
            } catch {
                answered = .failure(FSError(.ioError, "\(error)"))
            }
            return Flight(connection: nil, inFlight: nil, answered: answered)
        }
        let connection = idle.withLock { $0[server]?.popLast() }
            ?? ServerConnection(
                index: server, serviceName: serviceNames[server][0], runtime: runtime, requestIDs: requestIDs, alternates: Array(serviceNames[server].dropFirst()),
                serversCapability: serversCapability, givenUp: { [weak self] in self?.stopping.load(ordering: .relaxed) ?? true })
        return Flight(connection: connection, inFlight: connection.start(operation, credentials: credentials, deadline: deadline), answered: nil)
    }

    /// The peer's answer, retried on a new connection as the connection's one policy allows.
    public func finish<Operation: FSOperation>(_ flight: Flight<Operation>, deadline: Deadline) throws -> ServerConnection.Answer<Operation.Reply> {
        if let answered = flight.answered { return try answered.get() }
        guard let connection = flight.connection, let inFlight = flight.inFlight else { throw FSError(.ioError, "a flight without a line") }
        CommitHolders.checkNoneHeld(waitingOn: "server \(connection.index)'s answer to \(Operation.name)")
        defer { idle.withLock { $0[connection.index, default: []].append(connection) } }
        return try connection.finish(inFlight, deadline: deadline)
    }

    /// Sends `operation` to peer `server` and waits for its answer.
    public func call<Operation: FSOperation>(_ operation: Operation, to server: Int, deadline: Deadline) throws -> ServerConnection.Answer<Operation.Reply> {
        try finish(try start(operation, to: server, deadline: deadline), deadline: deadline)
    }

    /// Ends the waits on lost peers of requests in flight, and of any sent after.
    public func stopWaiting() {
        stopping.store(true, ordering: .relaxed)
    }

    /// Disconnects every idle connection.
    public func close() {
        for connection in idle.withLock({ $0.values.flatMap { $0 } }) { connection.drop() }
    }
}
