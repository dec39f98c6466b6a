/// Every limit of the runtime, with its default; each can be set through an
/// environment variable named in `environmentKeys`.
public struct RuntimeLimits: Sendable, Equatable {
    /// Messages up to this size travel eagerly; larger ones wait for the
    /// receiver to post a matching receive (rendezvous).
    public var eagerThresholdBytes: Int = 64 * 1024
    /// Bytes of eager payload held for receives not posted yet. Past it,
    /// arriving messages are discarded and their receive fails with
    /// `unexpectedQueueFull`.
    public var unexpectedQueueLimitBytes: Int = 256 * 1024 * 1024
    /// How long the progress engine keeps polling after activity before it
    /// blocks in the kernel: short waits stay fast, an idle process burns no CPU.
    public var spinMicroseconds: Int = 200
    /// Longest single sleep in the kernel, so deadlines and shutdown are noticed.
    public var maximumBlockMilliseconds: Int = 100
    /// Largest single message.
    public var maximumMessageBytes: Int = Int(UInt32.max)
    /// Time `finalize` waits for queued sends to drain.
    public var finalizeTimeoutSeconds: Double = 30
    /// Whether a background thread makes progress when no thread is waiting.
    public var asynchronousProgress: Bool = true
    /// Collectives at or above this size switch to bandwidth-optimal algorithms.
    public var largeCollectiveBytes: Int = 256 * 1024

    /// Every limit at its default value.
    public init() {}

    /// The environment variables `fromEnvironment` reads, each with the integer
    /// limit it sets (`TRELLIS_ASYNC_PROGRESS` is read separately).
    nonisolated(unsafe) public static let environmentKeys: [String: WritableKeyPath<RuntimeLimits, Int>] = [
        "TRELLIS_EAGER_THRESHOLD_BYTES": \.eagerThresholdBytes,
        "TRELLIS_UNEXPECTED_LIMIT_BYTES": \.unexpectedQueueLimitBytes,
        "TRELLIS_SPIN_US": \.spinMicroseconds,
        "TRELLIS_MAX_BLOCK_MS": \.maximumBlockMilliseconds,
        "TRELLIS_LARGE_COLLECTIVE_BYTES": \.largeCollectiveBytes,
    ]

    /// Defaults overridden by whatever the environment sets.
    public static func fromEnvironment(_ environment: [String: String]) throws -> RuntimeLimits {
        var limits = RuntimeLimits()
        for (key, path) in environmentKeys {
            guard let text = environment[key] else { continue }
            guard let value = Int(text), value >= 0 else {
                throw TrellisError(.invalidArgument, "\(key)=\(text) is not a non-negative integer")
            }
            limits[keyPath: path] = value
        }
        if let text = environment["TRELLIS_ASYNC_PROGRESS"] {
            limits.asynchronousProgress = !(text == "0" || text.lowercased() == "false")
        }
        return limits
    }
}
