import Synchronization
import TrellisCore

/// Talks to the name service over one kept-open connection, reconnecting
/// once when the service went away (it may have been restarted). Safe to
/// share between threads: requests take turns.
public final class NameServiceClient: Sendable {
    /// The name service's `host:port`.
    public let address: String
    /// How long connecting, and each request's send and answer, may take; past
    /// it a request fails with `nameServiceUnavailable` or `timedOut`.
    public let timeoutSeconds: Double
    private let connection = Mutex<LineConnection?>(nil)

    /// A client of the service at `address`; it connects on the first request, not here.
    public init(address: String, timeoutSeconds: Double = 5) {
        self.address = address
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends a request and returns the answer, whether it says ok or not.
    public func send(_ request: NameRequest) throws -> NameResponse {
        let line = try NameServiceCodec.encode(request)
        return try connection.withLock { current in
            for attempt in 0..<2 {
                let deadline = Deadline.after(seconds: timeoutSeconds)
                do {
                    let open = try current ?? LineConnection(address: address, timeoutSeconds: timeoutSeconds)
                    current = open
                    try open.send(line, deadline: deadline)
                    let answer = try open.receiveLine(deadline: deadline, limit: NameServiceCodec.maximumLineBytes)
                    return try NameServiceCodec.decode(NameResponse.self, from: answer)
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
