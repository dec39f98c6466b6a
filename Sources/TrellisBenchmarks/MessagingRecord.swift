import Foundation

/// One measurement, printed as one JSON object per line.
public struct BenchmarkRecord: Sendable, Equatable {
    public var bench: String
    public var impl: String
    public var bytes: Int
    public var ranks: Int
    public var iterations: Int
    public var latencyMicroseconds: Double
    /// Bytes moved per second, in 10^6 bytes.
    public var bandwidthMBps: Double { latencyMicroseconds > 0 ? Double(bytes) / latencyMicroseconds : 0 }

    public init(bench: String, impl: String, bytes: Int, ranks: Int, iterations: Int, latencyMicroseconds: Double) {
        self.bench = bench
        self.impl = impl
        self.bytes = bytes
        self.ranks = ranks
        self.iterations = iterations
        self.latencyMicroseconds = latencyMicroseconds
    }

    public var json: String {
        "{\"bench\":\"\(bench)\",\"impl\":\"\(impl)\",\"bytes\":\(bytes),\"ranks\":\(ranks),\"iterations\":\(iterations),"
            + "\"latency_us\":\(format(latencyMicroseconds, 3)),\"bandwidth_MBps\":\(format(bandwidthMBps, 1))}"
    }

    /// Reads a line printed by `json` (or by the MPICH program, which prints the same keys).
    public static func parse(_ line: Substring) -> BenchmarkRecord? {
        func field(_ key: String) -> Substring? {
            guard let range = line.range(of: "\"\(key)\":") else { return nil }
            var rest = line[range.upperBound...]
            if rest.first == "\"" {
                rest = rest.dropFirst()
                return rest.prefix { $0 != "\"" }
            }
            return rest.prefix { $0 != "," && $0 != "}" }
        }
        guard let bench = field("bench"), let impl = field("impl"), let bytes = field("bytes").flatMap({ Int($0) }),
            let ranks = field("ranks").flatMap({ Int($0) }), let latency = field("latency_us").flatMap({ Double($0) })
        else { return nil }
        return BenchmarkRecord(
            bench: String(bench), impl: String(impl), bytes: bytes, ranks: ranks,
            iterations: field("iterations").flatMap { Int($0) } ?? 0, latencyMicroseconds: latency)
    }
}

/// `value` rounded to `digits` decimals, as JSON and tables print it.
public func format(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = String(rounded)
    if text.hasSuffix(".0") && digits > 1 { text += String(repeating: "0", count: digits - 1) }
    return text
}

/// Iterations that keep a measurement near a fixed amount of data.
func iterations(for bytes: Int, small: Int, megabytesPerRun: Int) -> Int {
    if bytes <= 65536 { return small }
    let count = megabytesPerRun * (1 << 20) / max(bytes, 1)
    return min(max(count, 10), small)
}

/// The middle value (the upper one of an even count); 0 for none.
public func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

extension String {
    /// Right-aligned in a column `width` wide (for the benchmarks' tables).
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// Which of the baseline programs a benchmark runs are not installed.
func missingPrograms(_ names: [String]) -> [String] {
    names.filter { name in
        !["/usr/bin/", "/usr/local/bin/", "/bin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + name) }
    }
}
