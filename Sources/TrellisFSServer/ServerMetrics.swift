import Metrics
import TrellisFSProtocol

/// What a server reports through swift-metrics: per operation a count and
/// a latency histogram, errors by operation and code, bytes moved, and the
/// depth of its queues. Every series carries the file system's name and the
/// server's index, so one Prometheus can scrape every server of a cluster.
/// Nothing is recorded anywhere until the process bootstraps a backend
/// (`trellis server` bootstraps Prometheus and serves `/metrics`).
struct ServerMetrics: Sendable {
    private struct PerOperation: Sendable {
        let requests: Counter
        let latency: Timer
    }

    private let dimensions: [(String, String)]
    private let operations: [ObjectIdentifier: PerOperation]
    let bytesRead: Counter
    let bytesWritten: Counter
    /// Clients connected now.
    let sessions: Gauge
    /// Requests that arrived together and were served in one turn of the loop (one metadata commit).
    let readyRequests: Recorder
    /// Requests handed to threads of their own because they may wait on other servers.
    let requestsOnThreads: Meter
    /// Resent requests answered from the recorded reply instead of done again.
    let repliesFromRecord: Counter
    /// Requests refused for want of a valid capability (forged, expired, for other datafiles, or none).
    let capabilitiesRefused: Counter

    init(fileSystem: String, server: Int) {
        let dimensions = [("fs", fileSystem), ("server", String(server))]
        self.dimensions = dimensions
        var operations: [ObjectIdentifier: PerOperation] = [:]
        for kind in FSOperations.all {
            let labelled = dimensions + [("operation", kind.name)]
            operations[ObjectIdentifier(kind)] = PerOperation(
                requests: Counter(label: "trellis_fs_requests_total", dimensions: labelled),
                latency: Timer(label: "trellis_fs_request_duration_seconds", dimensions: labelled, preferredDisplayUnit: .seconds))
        }
        self.operations = operations
        bytesRead = Counter(label: "trellis_fs_read_bytes_total", dimensions: dimensions)
        bytesWritten = Counter(label: "trellis_fs_written_bytes_total", dimensions: dimensions)
        sessions = Gauge(label: "trellis_fs_sessions", dimensions: dimensions)
        readyRequests = Recorder(label: "trellis_fs_ready_requests", dimensions: dimensions, aggregate: false)
        requestsOnThreads = Meter(label: "trellis_fs_requests_on_threads", dimensions: dimensions)
        repliesFromRecord = Counter(label: "trellis_fs_replies_from_record_total", dimensions: dimensions)
        capabilitiesRefused = Counter(label: "trellis_fs_capabilities_refused_total", dimensions: dimensions)
    }

    /// Counts one answered request of `kind` that took `nanoseconds`, and its error if it failed.
    func record(_ kind: any FSOperation.Type, nanoseconds: UInt64, error: FSError.Code?) {
        if let counted = operations[ObjectIdentifier(kind)] {
            counted.requests.increment()
            counted.latency.recordNanoseconds(Int64(clamping: nanoseconds))
        }
        if let error {
            // Rare, so made when needed rather than kept for every pair of operation and code.
            Counter(label: "trellis_fs_errors_total", dimensions: dimensions + [("operation", kind.name), ("code", error.name)]).increment()
        }
    }
}
