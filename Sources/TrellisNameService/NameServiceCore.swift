import Glibc
import Metrics
import Synchronization
import TrellisCore
import TrellisNames

/// The registry behind a lock, with the request handling that every
/// connection shares. Never fails on what a client sends: a bad request gets
/// an error answer.
public final class NameServiceCore: Sendable {
    private let registry: Mutex<NameRegistry>
    /// The lease every publication gets; publishers renew within it.
    public let leaseSeconds: Double
    /// Names held now (updated as they are published and withdrawn), for Prometheus.
    private let published = Gauge(label: "trellis_names_published")

    /// A core with an empty registry.
    public init(leaseSeconds: Double, maximumNames: Int = 1_000_000) {
        self.leaseSeconds = leaseSeconds
        registry = Mutex(NameRegistry(leaseSeconds: leaseSeconds, maximumNames: maximumNames))
    }

    /// Answers one request and counts it in `trellis_names_requests_total`; a
    /// request the registry refuses gets an error answer, never a throw.
    public func handle(_ request: NameRequest, now: UInt64 = MonotonicClock.nanoseconds()) -> NameResponse {
        let response = answer(request, now: now)
        Counter(label: "trellis_names_requests_total", dimensions: [("operation", "\(request.operation)"), ("outcome", response.ok ? "ok" : "refused")]).increment()
        if request.operation == .publish || request.operation == .unpublish {
            published.record(registry.withLock { $0.list(now: now).count })
        }
        return response
    }

    private func answer(_ request: NameRequest, now: UInt64) -> NameResponse {
        registry.withLock { registry in
            do throws(NameRegistry.Failure) {
                switch request.operation {
                case .publish:
                    guard let service = request.service, let port = request.port, let publisher = request.publisher else {
                        return .failure("publish needs service, port and publisher")
                    }
                    try registry.publish(service: service, port: port, publisher: publisher, now: now)
                    return NameResponse(ok: true, leaseSeconds: leaseSeconds)
                case .unpublish:
                    guard let service = request.service, let publisher = request.publisher else {
                        return .failure("unpublish needs service and publisher")
                    }
                    try registry.unpublish(service: service, publisher: publisher)
                    return NameResponse(ok: true)
                case .lookup:
                    guard let service = request.service else { return .failure("lookup needs service") }
                    return NameResponse(ok: true, port: try registry.lookup(service: service, now: now))
                case .list:
                    return NameResponse(ok: true, entries: registry.list(now: now))
                case .renew:
                    guard let publisher = request.publisher else { return .failure("renew needs publisher") }
                    return NameResponse(ok: true, names: registry.renew(publisher: publisher, now: now), leaseSeconds: leaseSeconds)
                case .status:
                    var answer = NameResponse(ok: true, names: registry.list(now: now).count, leaseSeconds: leaseSeconds)
                    answer.pid = Int(getpid())
                    return answer
                case .shutdown:
                    return NameResponse(ok: true)
                case .hello, .prove:
                    // The connection answers these itself, before any request reaches the registry.
                    return .failure("\(request.operation) comes only first on a connection to a name service that holds the cluster key")
                }
            } catch {
                return .failure(error.description)
            }
        }
    }

    /// Drops a publisher's names at once, when its connection closed.
    @discardableResult
    public func forget(publisher: String) -> [String] {
        registry.withLock { $0.forget(publisher: publisher) }
    }

    /// Drops names whose lease ran out; the server calls it periodically.
    public func expire(now: UInt64 = MonotonicClock.nanoseconds()) -> [String] {
        registry.withLock { $0.expire(now: now) }
    }
}
