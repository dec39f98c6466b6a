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

/// Iterations that keep a measurement near a fixed amount of data.
func iterations(for bytes: Int, small: Int, megabytesPerRun: Int) -> Int {
    if bytes <= 65536 { return small }
    let count = megabytesPerRun * (1 << 20) / max(bytes, 1)
    return min(max(count, 10), small)
}
