import Metrics
import Synchronization

/// What a mount reports through swift-metrics: per FUSE operation a count
/// and a latency histogram, and its errors by errno. The series are made on
/// first use and kept, so a busy mount looks each up once.
final class MountMetrics: Sendable {
    private struct PerOperation: Sendable {
        let requests: Counter
        let latency: Timer
    }

    private let mountPoint: String
    private let operations = Mutex<[String: PerOperation]>([:])

    init(mountPoint: String) { self.mountPoint = mountPoint }

    func record(_ operation: StaticString, nanoseconds: UInt64, errno: Int32?) {
        let name = operation.description
        let counted = operations.withLock { operations in
            if let known = operations[name] { return known }
            let dimensions = [("mount", mountPoint), ("operation", name)]
            let made = PerOperation(
                requests: Counter(label: "trellis_mount_requests_total", dimensions: dimensions),
                latency: Timer(label: "trellis_mount_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds))
            operations[name] = made
            return made
        }
        counted.requests.increment()
        counted.latency.recordNanoseconds(Int64(clamping: nanoseconds))
        if let errno {
            Counter(label: "trellis_mount_errors_total", dimensions: [("mount", mountPoint), ("operation", name), ("errno", String(errno))]).increment()
        }
    }
}
