import Glibc

/// A point on the monotonic clock, in nanoseconds. Every wait in Trellis
/// takes an optional deadline; `nil` means wait as long as it takes.
public struct Deadline: Comparable, Sendable, CustomStringConvertible {
    /// The moment, as nanoseconds on `MonotonicClock`.
    public let uptimeNanoseconds: UInt64

    /// A deadline at the given reading of `MonotonicClock`.
    public init(uptimeNanoseconds: UInt64) { self.uptimeNanoseconds = uptimeNanoseconds }

    /// The present moment: a deadline that has already passed.
    public static func now() -> Deadline { Deadline(uptimeNanoseconds: MonotonicClock.nanoseconds()) }

    /// The moment `seconds` from now; zero or negative gives a deadline that has
    /// already passed, and very long waits are capped at 10^9 seconds.
    public static func after(seconds: Double) -> Deadline {
        let delta = seconds <= 0 ? 0 : UInt64(min(seconds, 1e9) * 1e9)
        return Deadline(uptimeNanoseconds: MonotonicClock.nanoseconds() &+ delta)
    }

    /// The moment `duration` from now, like `after(seconds:)`.
    public static func after(_ duration: Duration) -> Deadline {
        let (seconds, attoseconds) = duration.components
        return after(seconds: Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Whether the monotonic clock has reached this moment.
    public var hasPassed: Bool { MonotonicClock.nanoseconds() >= uptimeNanoseconds }

    /// Nanoseconds left, zero once passed.
    public var remainingNanoseconds: UInt64 {
        let now = MonotonicClock.nanoseconds()
        return uptimeNanoseconds > now ? uptimeNanoseconds - now : 0
    }

    /// Earlier deadlines are smaller.
    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.uptimeNanoseconds < rhs.uptimeNanoseconds }

    /// The time left, in seconds, such as `"deadline(+1.5s)"`.
    public var description: String { "deadline(+\(Double(remainingNanoseconds) / 1e9)s)" }
}

/// The system's monotonic clock (`CLOCK_MONOTONIC`): it never goes back and
/// does not follow changes to the wall-clock time.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point, such as boot; only differences
    /// between readings mean anything.
    public static func nanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
