import Glibc
import Logging
import Synchronization
import TrellisCore
import TrellisSystem

/// One process's dealings with the name service: its publications, the
/// lease that keeps them alive, and the lookups.
///
/// A background thread renews the lease at a third of its length. When a
/// renewal finds fewer names than this process published, the service was
/// restarted, and every name is published again; so a restarted name
/// service gets its names back from the live publishers.
public final class NamePublisher: Sendable {
    /// The connection that every request of this process goes through.
    public let client: NameServiceClient
    /// Unique per process (and per runtime instance).
    public let publisherID: String
    private let logger: Logger
    private let environment: [String: String]
    private struct State {
        var publications: [String: String] = [:]
        var leaseSeconds: Double = 10
        var renewing = false
        var stopped = false
    }
    private let state = Mutex(State())

    /// A publisher for the name service at `address`; nothing is sent before
    /// the first request. `environment` and `logger` serve starting a name service
    /// when none answers (see `NameServiceSetup`).
    public init(address: String, publisherID: String, environment: [String: String] = ProcessEnvironment.current(), logger: Logger) {
        client = NameServiceClient(address: address)
        self.publisherID = publisherID
        self.environment = environment
        self.logger = logger
    }

    /// Publishes `service` as `port`. Fails when another live process holds the name.
    public func publish(service: String, port: String) throws {
        let answer = try withAutostart { try client.call(NameRequest(.publish, service: service, port: port, publisher: publisherID)) }
        let startRenewal = state.withLock { state in
            state.publications[service] = port
            if let lease = answer.leaseSeconds { state.leaseSeconds = lease }
            defer { state.renewing = true }
            return !state.renewing
        }
        if startRenewal { _ = startThread { [self] in renewLoop() } }
    }

    /// Withdraws a name this process published (MPI_Unpublish_name). Throws
    /// `nameNotFound` when this process has not published `service`, and
    /// `nameRefused` when the service refuses.
    public func unpublish(service: String) throws {
        guard state.withLock({ $0.publications.removeValue(forKey: service) }) != nil else {
            throw TrellisError(.nameNotFound, "this process has not published '\(service)'")
        }
        try client.call(NameRequest(.unpublish, service: service, publisher: publisherID))
    }

    /// The port published under `service`. With a deadline, waits for the
    /// name to appear; without, fails at once when it is not there.
    public func lookup(service: String, deadline: Deadline? = nil) throws -> String {
        while true {
            do {
                return try withAutostart { try client.call(NameRequest(.lookup, service: service)) }.port ?? ""
            } catch let error as TrellisError where error.code == .nameNotFound {
                guard let deadline, !deadline.hasPassed else { throw error }
                usleep(20_000)
            }
        }
    }

    /// Withdraws every publication and stops renewing.
    public func close() {
        let names = state.withLock { state in
            state.stopped = true
            return Array(state.publications.keys)
        }
        for service in names {
            _ = try? client.send(NameRequest(.unpublish, service: service, publisher: publisherID))
        }
        client.disconnect()
    }

    private func withAutostart<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TrellisError where error.code == .nameServiceUnavailable {
            // Only a process whose setup starts name services tries again, once one answers.
            guard let start = NameServiceSetup.current.startWhenMissing, try start(client.address, environment, logger) else { throw error }
            return try body()
        }
    }

    private func renewLoop() {
        var slept = 0.0
        while true {
            let (stopped, lease, expected) = state.withLock { ($0.stopped, $0.leaseSeconds, $0.publications) }
            if stopped { return }
            if slept < lease / 3 {
                usleep(50_000)
                slept += 0.05
                continue
            }
            slept = 0
            guard !expected.isEmpty else { continue }
            do {
                let answer = try client.call(NameRequest(.renew, publisher: publisherID))
                if (answer.names ?? 0) < expected.count {
                    logger.notice("the name service at \(client.address) lost this process's names (restarted?); publishing them again")
                    for (service, port) in expected {
                        try client.call(NameRequest(.publish, service: service, port: port, publisher: publisherID))
                    }
                }
            } catch {
                logger.debug("renewing names at \(client.address) failed: \(error); will retry")
            }
        }
    }
}
