import Foundation

/// `value` rounded to `digits` decimals, as the benchmarks' tables print it.
public func format(_ value: Double, _ digits: Int) -> String {
    let value = rounded(value, digits)
    if digits == 0 && value.isFinite && abs(value) < 1e15 { return String(Int(value)) }
    var text = String(value)
    if text.hasSuffix(".0") && digits > 1 { text += String(repeating: "0", count: digits - 1) }
    return text
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
