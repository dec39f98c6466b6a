import Synchronization
import TrellisCore
import TrellisKeys
import TrellisSystem

/// Talks to the name service over one kept-open connection, reconnecting
/// once when the service went away (it may have been restarted). Safe to
/// share between threads: requests take turns. A client that holds the
/// cluster key proves it on every connection and seals every line
/// (`NameServiceHandshake`), and will not talk to a service that holds none.
public final class NameServiceClient: Sendable {
    /// The name service's `host:port`.
    public let address: String
    /// How long connecting, and each request's send and answer, may take; past
    /// it a request fails with `nameServiceUnavailable` or `timedOut`.
    public let timeoutSeconds: Double
    private let authentication: PeerAuthentication
    private let connection = Mutex<Session?>(nil)

    /// An open connection, and its seal once its handshake is over.
    private struct Session {
        let line: LineConnection
        var seal: NameLineSeal?
    }

    /// A client of the service at `address`; it connects on the first
    /// request, not here. `authentication` says which key it proves (by
    /// default the one the environment names, as the runtime's).
    public init(address: String, timeoutSeconds: Double = 5, authentication: PeerAuthentication = .fromEnvironment) {
        self.address = address
        self.timeoutSeconds = timeoutSeconds
        self.authentication = authentication
    }

    /// Sends a request and returns the answer, whether it says ok or not.
    public func send(_ request: NameRequest) throws -> NameResponse {
        let line = try NameServiceCodec.encode(request)
        return try connection.withLock { current in
            for attempt in 0..<2 {
                let deadline = Deadline.after(seconds: timeoutSeconds)
                do {
                    var session = try current ?? open(deadline: deadline)
                    current = session
                    let answer = try NameServiceCodec.decode(NameResponse.self, from: try exchange(line, on: &session, deadline: deadline))
                    current = session
                    if answer.refusedConnection == true {
                        throw TrellisError(.authenticationFailed, "name service at \(address): \(answer.error ?? "refused this process")")
                    }
                    return answer
                } catch let error as TrellisError where error.code == .nameServiceUnavailable && attempt == 0 && current != nil {
                    current = nil
                } catch let error as TrellisError {
                    current = nil
                    throw error
                } catch {
                    current = nil
                    throw TrellisError(.protocolViolation, "the name service at \(address) answered something unreadable: \(error)")
                }
            }
            throw TrellisError(.nameServiceUnavailable, "no name service at \(address)")
        }
    }

    /// Sends one line (sealed when the session is) and returns the answer's (opened).
    private func exchange(_ line: [UInt8], on session: inout Session, deadline: Deadline) throws -> [UInt8] {
        var outgoing = line
        if var seal = session.seal {
            outgoing = seal.seal(Array(line.dropLast()))
            session.seal = seal
        }
        try session.line.send(outgoing, deadline: deadline)
        return try receive(&session, deadline: deadline)
    }

    /// A new connection, through the handshake when this process holds a key.
    private func open(deadline: Deadline) throws -> Session {
        let line = try LineConnection(address: address, timeoutSeconds: timeoutSeconds)
        guard let key = try authentication.key(environment: ProcessEnvironment.current()) else { return Session(line: line, seal: nil) }
        let client = NameServiceHandshake.newNonce()
        var hello = NameRequest(.hello)
        hello.nonce = client
        try line.send(try NameServiceCodec.encode(hello), deadline: deadline)
        let greeting = try NameServiceCodec.decode(NameResponse.self, from: try line.receiveLine(deadline: deadline, limit: NameServiceCodec.maximumLineBytes))
        guard greeting.ok, let service = greeting.nonce, NameServiceHandshake.isNonce(service), let proof = greeting.proof else {
            throw TrellisError(
                .authenticationFailed, "refused to use the name service at \(address): \(greeting.error ?? "it did not answer the handshake")")
        }
        guard NameServiceHandshake.isServiceProof(proof, key, client: client, service: service) else {
            throw TrellisError(.authenticationFailed, "name service at \(address): the name service refused this process: it holds another cluster key")
        }
        var prove = NameRequest(.prove)
        prove.proof = NameServiceHandshake.clientProof(key, client: client, service: service)
        var session = Session(line: line, seal: nil)
        try line.send(try NameServiceCodec.encode(prove), deadline: deadline)
        // The service's answer to the proof is its first sealed line.
        session.seal = NameLineSeal(key: key, client: client, service: service, isService: false)
        let accepted = try NameServiceCodec.decode(NameResponse.self, from: try receive(&session, deadline: deadline))
        guard accepted.ok else { throw TrellisError(.authenticationFailed, "name service at \(address): \(accepted.error ?? "refused")") }
        return session
    }

    /// The next line, opened when the session is sealed. A refusal comes
    /// unsealed and says why; any other line that fails its seal ends the session.
    private func receive(_ session: inout Session, deadline: Deadline) throws -> [UInt8] {
        let answer = try session.line.receiveLine(deadline: deadline, limit: NameServiceCodec.maximumLineBytes)
        guard var seal = session.seal else { return answer }
        if let opened = seal.open(answer) {
            session.seal = seal
            return opened
        }
        if let refusal = try? NameServiceCodec.decode(NameResponse.self, from: answer), let error = refusal.error {
            throw TrellisError(.authenticationFailed, "name service at \(address): \(error)")
        }
        throw TrellisError(.authenticationFailed, "a line from the name service at \(address) failed its seal check (altered, replayed or out of order)")
    }

    /// Sends a request and throws its error when the service refuses it.
    @discardableResult
    public func call(_ request: NameRequest) throws -> NameResponse {
        let answer = try send(request)
        guard answer.ok else {
            let message = answer.error ?? "refused"
            let code: TrellisError.Code = request.operation == .lookup ? .nameNotFound : .nameRefused
            throw TrellisError(code, "name service at \(address): \(message)")
        }
        return answer
    }

    /// Closes the kept-open connection; the next request opens a new one.
    public func disconnect() {
        connection.withLock { $0 = nil }
    }
}
