import Foundation
import Synchronization

/// One line of a benchmark's output.
///
/// Every `trellis bench` command prints its measurements as JSON objects, one
/// per line, through this one encoder, so that every line reads the same way:
///
/// - keys are the record's property names in snake_case
///   (`latencyMicroseconds` becomes `latency_microseconds`), sorted;
/// - units are part of the name: `seconds`, `milliseconds`, `microseconds`,
///   `mib_per_second` (2^20 bytes), `megabytes_per_second` (10^6 bytes),
///   `operations_per_second`, `bytes`;
/// - comparisons are `speedup_vs` (a baseline's time over Trellis's: above 1,
///   Trellis is faster) or `ratio_vs_…` (Trellis's figure over the baseline's,
///   the way round the name of the figure says);
/// - a value that was not measured is left out rather than written as null.
///
/// ```swift
/// struct Example: BenchmarkRecord {
///     var bench = "example"
///     var seconds = 1.5
/// }
/// print(Example().jsonLine)   // {"bench":"example","seconds":1.5}
/// ```
public protocol BenchmarkRecord: Codable, Sendable {
    /// Which benchmark, and which kind of line of it: `pingpong`, `fs-write`, `stage-speedup`.
    var bench: String { get }
}

extension BenchmarkRecord {
    /// The record as one line of JSON.
    public var jsonLine: String {
        // Encoding plain numbers, strings and flags cannot fail; non-finite
        // numbers are written as strings by the encoder's configuration.
        String(decoding: (try? BenchmarkJSON.encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Prints the record on a line of its own and flushes: benchmarks report
    /// as they go, even into a pipe. When the output's reader has gone, the
    /// bench is told (`BenchmarkOutput.whenClosed`).
    public func printLine() {
        print(jsonLine)
        if fflush(nil) != 0, errno == EPIPE, let stop = BenchmarkOutput.whenClosed.withLock({ $0 }) { stop() }
    }

    /// Reads a line printed by `jsonLine` (or by a baseline program that
    /// prints the same keys); nil for any other line.
    public static func parse(_ line: some StringProtocol) -> Self? {
        try? BenchmarkJSON.decoder.decode(Self.self, from: Data(line.utf8))
    }

    /// Every line of `output` that is such a record, in order.
    public static func parseLines(_ output: String) -> [Self] {
        output.split(separator: "\n").compactMap { parse($0) }
    }
}

/// Where benchmark records go.
public enum BenchmarkOutput {
    /// Called when a record finds the output closed (its reader has gone);
    /// a bench that started processes stops them here and ends.
    public static let whenClosed = Mutex<(@Sendable () -> Void)?>(nil)

    /// Writes a line of progress to standard error. A reader that has gone
    /// is no reason to stop half-way: FileHandle's plain `write` traps on
    /// it, which ended a bench piped into `head` before it could stop the
    /// servers it had started.
    public static func progress(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }
}

/// The one encoder and decoder of benchmark lines.
enum BenchmarkJSON {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

/// `value` rounded to `digits` decimals, so that lines carry what was
/// measured rather than the last bits of a division.
public func rounded(_ value: Double, _ digits: Int) -> Double {
    guard value.isFinite else { return value }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return (value * scale).rounded() / scale
}
