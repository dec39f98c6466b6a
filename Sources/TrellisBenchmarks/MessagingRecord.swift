/// One figure of the message-passing benchmarks (`trellis bench pingpong`,
/// `bcast`, `allreduce`, `nio-pingpong`), and of the MPICH program that
/// `trellis bench compare` runs beside them, which prints the same keys.
public struct MessagingRecord: BenchmarkRecord, Equatable {
    /// `pingpong`, `bcast` or `allreduce`.
    public var bench: String
    /// Whose figure: `trellis`, `swift-nio`, `mpich-tcp` or `mpich-shm`.
    public var impl: String
    /// Message size, in bytes.
    public var bytes: Int
    /// Ranks in the job.
    public var ranks: Int
    /// Timed round trips (ping-pong) or calls (collectives) per trial, after the warm-up.
    public var iterations: Int
    /// Half a round trip for ping-pong; one call for collectives.
    public var latencyMicroseconds: Double
    /// `bytes / latency`, in 10^6 bytes per second.
    public var bandwidthMegabytesPerSecond: Double
    /// For a median of several runs: how many, and the lowest and highest latency among them.
    public var samples: Int?
    public var minimumLatencyMicroseconds: Double?
    public var maximumLatencyMicroseconds: Double?

    /// A figure from its latency; the bandwidth follows from `bytes`, and both are rounded.
    public init(bench: String, impl: String, bytes: Int, ranks: Int, iterations: Int, latencyMicroseconds: Double) {
        self.bench = bench
        self.impl = impl
        self.bytes = bytes
        self.ranks = ranks
        self.iterations = iterations
        self.latencyMicroseconds = rounded(latencyMicroseconds, 3)
        self.bandwidthMegabytesPerSecond = latencyMicroseconds > 0 ? rounded(Double(bytes) / latencyMicroseconds, 1) : 0
    }
}

extension MessagingRecord {
    /// One record per implementation and point: the median latency of its
    /// runs (bandwidth following), with their count, minimum and maximum, in
    /// the order the points first came.
    public static func medians(of runs: [MessagingRecord]) -> [MessagingRecord] {
        var order: [String] = []
        var groups: [String: [MessagingRecord]] = [:]
        for run in runs {
            let key = "\(run.impl) \(run.bench) \(run.bytes) \(run.ranks)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(run)
        }
        return order.map { key in
            let group = groups[key]!
            let latencies = group.map(\.latencyMicroseconds)
            var record = MessagingRecord(
                bench: group[0].bench, impl: group[0].impl, bytes: group[0].bytes, ranks: group[0].ranks, iterations: group[0].iterations,
                latencyMicroseconds: median(latencies))
            record.samples = group.count
            record.minimumLatencyMicroseconds = latencies.min()
            record.maximumLatencyMicroseconds = latencies.max()
            return record
        }
    }
}

/// Iterations that keep a measurement near a fixed amount of data.
func iterations(for bytes: Int, small: Int, megabytesPerRun: Int) -> Int {
    if bytes <= 65536 { return small }
    let count = megabytesPerRun * (1 << 20) / max(bytes, 1)
    return min(max(count, 10), small)
}
