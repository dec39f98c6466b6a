import Glibc

/// A point on the monotonic clock, in nanoseconds. Every wait in Trellis
/// takes an optional deadline; `nil` means wait as long as it takes.
public struct Deadline: Comparable, Sendable, CustomStringConvertible {
    public let uptimeNanoseconds: UInt64

    public init(uptimeNanoseconds: UInt64) { self.uptimeNanoseconds = uptimeNanoseconds }

    public static func now() -> Deadline { Deadline(uptimeNanoseconds: MonotonicClock.nanoseconds()) }

    public static func after(seconds: Double) -> Deadline {
        let delta = seconds <= 0 ? 0 : UInt64(min(seconds, 1e9) * 1e9)
        return Deadline(uptimeNanoseconds: MonotonicClock.nanoseconds() &+ delta)
    }

    public static func after(_ duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        return after(seconds: Double(seconds) + Double(attoseconds) / 1e18)
    }

    public var hasPassed: Bool { MonotonicClock.nanoseconds() >= uptimeNanoseconds }

    /// Nanoseconds left, zero once passed.
    public var remainingNanoseconds: UInt64 {
        let now = MonotonicClock.nanoseconds()
        return uptimeNanoseconds > now ? uptimeNanoseconds - now : 0
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.uptimeNanoseconds < rhs.uptimeNanoseconds }

    public var description: String { "deadline(+\(Double(remainingNanoseconds) / 1e9)s)" }
}

public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
