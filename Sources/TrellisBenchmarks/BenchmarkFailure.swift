import Foundation
import TrellisCore

/// A benchmark that could not measure what it set out to (a file read back
/// wrong, a helper that did not start); the message says what and where.
public struct BenchmarkFailure: Error, CustomStringConvertible {
    /// What failed, and where.
    public let description: String
    /// A failure with this message.
    public init(_ description: String) { self.description = description }
}

/// Seconds that `body` took (at least a nanosecond).
public func timedSeconds(_ body: () throws -> Void) rethrows -> Double {
    try timed(body).seconds
}

/// What `body` returned, and the seconds it took (at least a nanosecond).
public func timed<Result>(_ body: () throws -> Result) rethrows -> (result: Result, seconds: Double) {
    let start = MonotonicClock.nanoseconds()
    let result = try body()
    return (result, max(Double(MonotonicClock.nanoseconds() - start) / 1e9, 1e-9))
}
