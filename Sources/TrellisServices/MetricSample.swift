/// One line of Prometheus's text format: a series and its value.
public struct MetricSample: Sendable, Equatable {
    /// The metric's name, such as `trellis_names_requests_total`.
    public var name: String
    /// The series' labels, with their values unescaped.
    public var labels: [String: String]
    /// The sample's value (`+Inf`, `-Inf` and `NaN` included).
    public var value: Double

    /// A sample with every field given.
    public init(name: String, labels: [String: String], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    /// The samples of an exposition (comments and lines that do not parse are skipped).
    public static func parse(_ text: String) -> [MetricSample] {
        text.split(separator: "\n").compactMap { parseLine(Substring($0)) }
    }

    private static func parseLine(_ line: Substring) -> MetricSample? {
        guard let first = line.first, first != "#" else { return nil }
        var labels: [String: String] = [:]
        let name: Substring
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            name = line[..<brace]
            rest = line[line.index(after: brace)...]
            // name="value" pairs; values may hold escaped quotes, backslashes and newlines.
            while let equals = rest.firstIndex(of: "=") {
                let key = rest[..<equals].trimmingPrefix(while: { $0 == "," || $0 == " " })
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                var value = ""
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(character == "n" ? "\n" : character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        value.append(character)
                    }
                }
                labels[String(key)] = value
                if rest.first == "," { rest = rest.dropFirst() }
                if rest.first == "}" { break }
            }
            guard rest.first == "}" else { return nil }
            rest = rest.dropFirst()
        } else {
            guard let space = line.firstIndex(of: " ") else { return nil }
            name = line[..<space]
            rest = line[space...]
        }
        let fields = rest.split(separator: " ")
        guard let valueText = fields.first, let value = Double(valueText) ?? special(valueText) else { return nil }
        return MetricSample(name: String(name), labels: labels, value: value)
    }

    private static func special(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return nil
        }
    }
}
