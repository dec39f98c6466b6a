import Glibc
import NIOCore
import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisRuntime

/// A line to one server (from a client, or from a server to a peer): an
/// intercommunicator made on first use (by looking the server's service
/// name up), requests with ids unique to the caller, and a retry on a fresh
/// connection when the server was lost, until the caller's deadline
/// (stateless servers, §6 of the persistent-services paper, Latham, Ross and
/// Thakur, "Can MPI Be Used for Persistent Parallel Services?"). One thread
/// at a time.
public final class ServerConnection: @unchecked Sendable {
    /// The server's index in the configuration (with replicas, its replica group).
    public let index: Int
    /// The name of the copy it talks to now: the server's own
    /// (`trellis-fs/NAME/INDEX`), or, after a failover, another copy's.
    public private(set) var serviceName: String
    /// Every name that may answer for the group, in failover order.
    private let candidates: [String]
    private var candidate = 0
    private let runtime: Runtime
    private let requestIDs: RequestIDSource
    private var communicator: Communicator?
    /// A port to try before looking the service name up (the one a client was given).
    private var pendingPort: String?
    /// Whether a request is sent again when its server is lost (not for a probe, which asks whether it is).
    private let resendsAfterLoss: Bool
    /// On a primary's line to a copy of its group: the group's epoch, sent with every request.
    private let relayEpoch: @Sendable () -> UInt64?
    /// On a server's line to another: the servers' own capability, sent with every request that brings none.
    private let serversCapability: @Sendable () -> Capability?
    /// A client's MUNGE credential for each new connection (nil: it proves nothing).
    private let identityProof: (@Sendable () -> String?)?
    /// Whether its owner has stopped waiting on this line (a server that is
    /// stopping): a request then gives up within a second, not at its deadline.
    private let givenUp: (@Sendable () -> Bool)?

    /// A line that connects on first use: to `portName` when given, else to
    /// what the name service says `serviceName` is; when that copy is lost or
    /// says it is not the primary, to each of `alternates` in turn.
    /// With `resendsAfterLoss` false, a lost server fails the request at once;
    /// `relayEpoch` marks a primary's line to a copy of its group;
    /// `serversCapability` a server's line to another; `identityProof`
    /// makes the credential a client proves who it is with on each new connection;
    /// `givenUp` true ends the waits for a lost server early.
    public init(
        index: Int, serviceName: String, runtime: Runtime, requestIDs: RequestIDSource, portName: String? = nil, alternates: [String] = [],
        resendsAfterLoss: Bool = true, relayEpoch: @escaping @Sendable () -> UInt64? = { nil },
        serversCapability: @escaping @Sendable () -> Capability? = { nil }, identityProof: (@Sendable () -> String?)? = nil,
        givenUp: (@Sendable () -> Bool)? = nil
    ) {
        self.index = index
        self.givenUp = givenUp
        self.identityProof = identityProof
        self.serversCapability = serversCapability
        self.resendsAfterLoss = resendsAfterLoss
        self.relayEpoch = relayEpoch
        self.serviceName = serviceName
        candidates = [serviceName] + alternates
        self.runtime = runtime
        self.requestIDs = requestIDs
        if let portName, !portName.isEmpty { pendingPort = portName }
    }

    /// Sends `operation` and waits for its typed reply, retrying as `finish` does.
    /// `capability` allows a request on datafiles.
    public func call<Operation: FSOperation>(
        _ operation: Operation, credentials: Credentials, capability: Capability? = nil, deadline: Deadline
    ) throws -> Answer<Operation.Reply> {
        try finish(start(operation, credentials: credentials, capability: capability, deadline: deadline), deadline: deadline)
    }

    /// A reply and the time steps its server reported (more than 1 when the
    /// server fanned the request out to others).
    public struct Answer<Reply: Sendable>: Sendable {
        /// The operation's typed reply.
        public var reply: Reply
        /// Time steps the server reported for it.
        public var steps: Int
        /// An answer as a server gave it.
        public init(reply: Reply, steps: Int) {
            self.reply = reply
            self.steps = steps
        }
    }

    /// A request on its way (or, when it could not be sent, waiting to be),
    /// with the id it keeps through every resend.
    public struct InFlight<Operation: FSOperation> {
        let operation: Operation
        let credentials: Credentials
        let capability: Capability?
        let id: UInt64
        var sent: Sent?

        /// Completes when the reply comes (`finish` takes it); nil when the
        /// request could not be sent when started.
        public var replyArrival: Request<Message>? { sent?.reply }
    }

    /// A sent request: its id, the posted receive for its reply, its send.
    struct Sent {
        var id: UInt64
        var reply: Request<Message>
        var send: Request<Void>
        var server: Communicator
    }

    /// Connects if needed, posts the reply's receive and starts the send;
    /// a request that cannot be sent now is sent by `finish`.
    public func start<Operation: FSOperation>(
        _ operation: Operation, credentials: Credentials, capability: Capability? = nil, deadline: Deadline
    ) -> InFlight<Operation> {
        let id = requestIDs.next()
        let capability = capability ?? serversCapability()
        return InFlight(
            operation: operation, credentials: credentials, capability: capability, id: id,
            sent: try? send(operation, id: id, credentials: credentials, capability: capability, deadline: deadline))
    }

    /// Waits for a started request's reply. This is the one retry policy of
    /// the file system's lines: when the server is lost, the request goes
    /// again, with the same id, on a new connection until `deadline`. That
    /// is safe whether or not it was carried out: an idempotent request does
    /// no harm twice, and the server records the reply of every other one
    /// with its change and answers a resend from that record (Lustre's reply
    /// reconstruction, the client table of Viewstamped Replication). With replicas,
    /// a server that answers `serverUnavailable` (a copy it passes changes to
    /// was lost) is asked again until its group goes on without that copy; a copy that answers `notPrimary` sends the request on to the
    /// group's next copy.
    public func finish<Operation: FSOperation>(_ flight: InFlight<Operation>, deadline: Deadline) throws -> Answer<Operation.Reply> {
        var sent = flight.sent
        var lastError: FSError?
        while !deadline.hasPassed {
            // After a try that failed: a request to a live peer is still answered as usual.
            if let lastError, givenUp?() == true {
                drop()
                throw lastError
            }
            do {
                let current = try sent ?? send(flight.operation, id: flight.id, credentials: flight.credentials, capability: flight.capability, deadline: deadline)
                sent = nil
                do {
                    try current.send.wait(deadline: deadline)
                } catch {
                    current.reply.cancel()
                    throw error
                }
                return try answer(to: flight, sent: current, deadline: deadline)
            } catch let error as TrellisError where Self.meansServerLost(error.code) {
                drop()
                sent = nil
                lastError = FSError(.serverUnavailable, "server \(index) (\(serviceName)): \(error.message)")
                guard resendsAfterLoss else { break }
                moveToNextCandidate()
                // Until the name service notices the dead server, a lookup still gives its old port:
                // pause between tries rather than spin on it (the lookup itself waits for a new one).
                usleep(100_000)
            } catch let error as FSError where error.code == .serverUnavailable && candidates.count > 1 {
                // The server is up but a server it needs is not (a replica being replaced): the
                // same request again, on the same connection, once the group has gone on without it.
                sent = nil
                lastError = error
                usleep(200_000)
            } catch let error as FSError where error.code == .notPrimary && candidates.count > 1 {
                // Another copy of the group is (or is about to be) its primary.
                drop()
                sent = nil
                lastError = error
                moveToNextCandidate()
                usleep(50_000)
            } catch let error as TrellisError where error.code == .timedOut {
                // The connection may be one only this side still believes in (the server dropped it while a
                // link was cut): the next request connects anew rather than wait on it again.
                drop()
                throw FSError(.timedOut, "server \(index) (\(serviceName)) did not answer \(Operation.name) before the deadline")
            }
        }
        throw lastError ?? FSError(.timedOut, "server \(index) (\(serviceName)) could not be reached before the deadline")
    }

    /// Whether a started request's send is done and its reply has come as
    /// its server's success, found without waiting, retrying or taking
    /// anything: after true the request needs no `finish`; after false a
    /// reply still on its way, a failure and every retry are `finish`'s.
    /// Safe while another thread waits on the same request.
    public func succeeded<Operation: FSOperation>(_ flight: InFlight<Operation>) -> Bool {
        guard let sent = flight.sent, sent.send.isComplete, sent.reply.isComplete,
            (try? sent.send.wait()) != nil, let message = try? sent.reply.wait(),
            let reply = try? FSReplyEnvelope.decode(message.payload), reply.requestID == sent.id
        else { return false }
        return (try? reply.reply(to: Operation.self)) != nil
    }

    /// Whether a connection is up now, so that `start` sends without looking anything up or dialing.
    public var isConnected: Bool { communicator != nil }

    /// Gives up a started request's reply (its caller failed before waiting
    /// for it): the receive posted for it goes, so nothing is kept for a
    /// reply that no one will take.
    public func abandon<Operation: FSOperation>(_ flight: InFlight<Operation>) {
        flight.sent?.reply.cancel()
    }

    private static func meansServerLost(_ code: TrellisError.Code) -> Bool {
        let losses: [TrellisError.Code] = [.peerFailed, .peerFinalized, .connectionFailed, .portClosed, .nameNotFound, .nameServiceUnavailable]
        return losses.contains(code)
    }

    private func send(_ operation: some FSOperation, id: UInt64, credentials: Credentials, capability: Capability?, deadline: Deadline) throws -> Sent {
        let server = try connected(deadline: deadline)
        let incoming = try server.ireceive(from: .rank(0), tag: .tag(MessageTags.reply(to: id)))
        let envelope = FSRequestEnvelope(requestID: id, clientID: requestIDs.clientID, credentials: credentials, operation: operation, relayEpoch: relayEpoch(), capability: capability)
        do {
            return Sent(id: id, reply: incoming, send: try server.isend(envelope.encoded(), to: 0, tag: MessageTags.request), server: server)
        } catch {
            incoming.cancel()
            throw error
        }
    }

    /// How long a reply is waited for, when the group has other copies,
    /// before they are asked: a primary cut off from the network (or
    /// stopped) answers nothing while its connection stays open, and only
    /// the copy that took over its group can end the wait.
    public static let patienceSeconds = 2.0

    /// The reply to `sent`. With other copies to ask, the wait goes in
    /// slices of `patienceSeconds`, and after each the same request (the
    /// same ids) goes to the other copies: one that is not the primary
    /// refuses it at once, the one that took over answers it (from its
    /// record when the lost primary had done it and passed it on), and the
    /// line moves to that copy.
    private func answer<Operation: FSOperation>(to flight: InFlight<Operation>, sent: Sent, deadline: Deadline) throws -> Answer<Operation.Reply> {
        var sent = sent
        let asksOtherCopies = candidates.count > 1 && resendsAfterLoss
        guard asksOtherCopies || givenUp != nil else { return try wait(for: &sent, as: Operation.self, deadline: deadline) }
        let slice = asksOtherCopies ? Self.patienceSeconds : 1
        while true {
            do {
                return try wait(for: &sent, as: Operation.self, deadline: min(deadline, .after(seconds: slice)), keepingOnTimeout: true)
            } catch let error as TrellisError where error.code == .timedOut && !deadline.hasPassed {
                if givenUp?() == true {
                    sent.reply.cancel()
                    drop()
                    throw FSError(.serverUnavailable, "server \(index) (\(serviceName)): the wait for its answer to \(Operation.name) was given up (this side is stopping)")
                }
                guard asksOtherCopies, let (position, line, answer) = askOtherCopies(flight, deadline: deadline) else { continue }
                sent.reply.cancel()
                drop()
                candidate = position
                serviceName = candidates[position]
                communicator = line
                return try answer.get()
            } catch let error as TrellisError where error.code == .timedOut {
                sent.reply.cancel()
                throw error
            }
        }
    }

    /// Sends `flight` (same ids) to each copy but the current one, waiting a
    /// moment for each; the first that answers it (its place among the
    /// candidates, the connection, the answer), or nil when none did.
    private func askOtherCopies<Operation: FSOperation>(
        _ flight: InFlight<Operation>, deadline: Deadline
    ) -> (Int, Communicator, Result<Answer<Operation.Reply>, FSError>)? {
        for position in candidates.indices where position != candidate && !deadline.hasPassed {
            let copy = ServerConnection(
                index: index, serviceName: candidates[position], runtime: runtime, requestIDs: requestIDs, resendsAfterLoss: false,
                serversCapability: serversCapability, identityProof: identityProof)
            let brief = min(deadline, .after(seconds: 1))
            var answer: Result<Answer<Operation.Reply>, FSError>?
            do {
                var sent = try copy.send(flight.operation, id: flight.id, credentials: flight.credentials, capability: flight.capability, deadline: brief)
                try sent.send.wait(deadline: brief)
                answer = .success(try copy.wait(for: &sent, as: Operation.self, deadline: brief))
            } catch let error as FSError where error.code != .notPrimary && error.code != .serverUnavailable {
                // The primary answered, with a failure of the request itself.
                answer = .failure(error)
            } catch {
                // Not the primary (or not reachable either): the wait goes on.
            }
            if let answer, let line = copy.communicator {
                copy.communicator = nil
                return (position, line, answer)
            }
            copy.drop()
        }
        return nil
    }

    /// Waits for the reply to `sent`; with `keepingOnTimeout`, a deadline
    /// that passes leaves its receive posted for another wait.
    private func wait<Operation: FSOperation>(
        for sent: inout Sent, as _: Operation.Type, deadline: Deadline, keepingOnTimeout: Bool = false
    ) throws -> Answer<Operation.Reply> {
        do {
            while true {
                let reply = try FSReplyEnvelope.decode(try sent.reply.wait(deadline: deadline).payload)
                // A late reply to an earlier request on the same tag is not ours.
                if reply.requestID == sent.id { return Answer(reply: try reply.reply(to: Operation.self), steps: Int(reply.steps)) }
                sent.reply = try sent.server.ireceive(from: .rank(0), tag: .tag(MessageTags.reply(to: sent.id)))
            }
        } catch let error as TrellisError where keepingOnTimeout && error.code == .timedOut {
            throw error
        } catch {
            sent.reply.cancel()
            throw error
        }
    }

    private func connected(deadline: Deadline) throws -> Communicator {
        if let communicator { return communicator }
        let port: String
        if let pendingPort {
            port = pendingPort
        } else if !resendsAfterLoss {
            // A probe: a name not published now (its server's lease ended with it) is the news.
            port = try runtime.lookup(name: serviceName)
        } else if candidates.count > 1 {
            // A copy whose name is gone may be gone for good: look for it a moment, then try the next copy.
            do {
                port = try runtime.lookup(name: serviceName, deadline: min(deadline, .after(seconds: 1)))
            } catch let error as TrellisError where error.code == .timedOut && !deadline.hasPassed {
                throw TrellisError(.nameNotFound, "no copy is published as \(serviceName)")
            }
        } else if let givenUp {
            // In slices, so that a wait given up ends within one.
            var found: String?
            while found == nil {
                do {
                    found = try runtime.lookup(name: serviceName, deadline: min(deadline, .after(seconds: 1)))
                } catch let error as TrellisError where error.code == .timedOut && !deadline.hasPassed && !givenUp() {}
            }
            port = found!
        } else {
            port = try runtime.lookup(name: serviceName, deadline: deadline)
        }
        pendingPort = nil
        let made = try runtime.selfCommunicator.connect(to: port, deadline: deadline)
        communicator = made
        if let credential = identityProof?() { try prove(credential, deadline: deadline) }
        return made
    }

    /// Proves who this client is on the connection just made, before its
    /// first request; a server that asks for no proofs says so, and is
    /// asked nothing more.
    private func prove(_ credential: String, deadline: Deadline) throws {
        let id = requestIDs.next()
        do {
            var sent = try send(ProveIdentity(credential: credential), id: id, credentials: Credentials(uid: getuid(), gid: getgid()), capability: nil, deadline: deadline)
            try sent.send.wait(deadline: deadline)
            _ = try wait(for: &sent, as: ProveIdentity.self, deadline: deadline)
        } catch let error as FSError where error.code == .notSupported {
            return
        } catch let error as FSError {
            drop()
            throw FSError(error.code, "server \(index) (\(serviceName)) did not take this client's proof of identity: \(error.message)")
        }
    }

    /// The next copy of the group, for the next try.
    private func moveToNextCandidate() {
        guard candidates.count > 1 else { return }
        candidate = (candidate + 1) % candidates.count
        serviceName = candidates[candidate]
        pendingPort = nil
    }

    /// Ends the session (the server is told, so it drops its side) and forgets the connection; the next call connects anew.
    public func drop() {
        if let communicator {
            // Queued before the disconnect, which lets it leave first.
            _ = try? communicator.isend(ByteBuffer(string: MessageTags.sessionEndWords), to: 0, tag: MessageTags.sessionEnd)
            _ = communicator.idisconnect()
        }
        communicator = nil
        pendingPort = nil
    }
}

/// Request ids unique within this client, never reused (§2 of the paper on
/// MPI as the transport of a replicated, striped storage service), and the
/// client's own id, which makes them unique across clients.
public final class RequestIDSource: Sendable {
    private let last = Atomic<UInt64>(0)
    /// This client's id: random, never 0 (a client without one).
    public let clientID: UInt64
    /// Ids from 1, for a client with a fresh random id.
    public init() {
        var generator = SystemRandomNumberGenerator()
        clientID = UInt64.random(in: 1 ... .max, using: &generator)
    }
    /// The next id, from any thread.
    public func next() -> UInt64 { last.wrappingAdd(1, ordering: .relaxed).newValue }
}
