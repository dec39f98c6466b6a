/// What changed between two scrapes of one endpoint: counter rates per
/// second and current gauge values. A counter that went down was reset (its
/// process restarted) and counts from zero, as Prometheus's `rate` takes it.
public struct MetricsDelta: Sendable {
    private struct Series: Hashable {
        var name: String
        var labels: [String: String]
    }

    private let before: [Series: Double]
    private let after: [Series: Double]
    /// The time between the two scrapes, which rates divide by.
    public let seconds: Double

    /// Compares two scrapes of one endpoint taken `seconds` apart.
    public init(before: [MetricSample], after: [MetricSample], seconds: Double) {
        self.before = Dictionary(before.map { (Series(name: $0.name, labels: $0.labels), $0.value) }, uniquingKeysWith: { $1 })
        self.after = Dictionary(after.map { (Series(name: $0.name, labels: $0.labels), $0.value) }, uniquingKeysWith: { $1 })
        self.seconds = seconds
    }

    /// The counter `name`'s increase per second, summed over its series whose labels include `matching`.
    public func rate(_ name: String, matching: [String: String] = [:]) -> Double {
        ratesByLabel(name, label: nil, matching: matching).values.reduce(0, +)
    }

    /// The counter `name`'s increase per second, per value of `label`.
    public func rates(_ name: String, by label: String) -> [String: Double] {
        ratesByLabel(name, label: label, matching: [:])
    }

    /// The gauge `name` now, summed over its series.
    public func current(_ name: String) -> Double {
        after.filter { $0.key.name == name }.values.reduce(0, +)
    }

    private func ratesByLabel(_ name: String, label: String?, matching: [String: String]) -> [String: Double] {
        var rates: [String: Double] = [:]
        for (series, value) in after where series.name == name && matching.allSatisfy({ series.labels[$0.key] == $0.value }) {
            let previous = before[series] ?? 0
            let increase = value >= previous ? value - previous : value
            rates[label.flatMap { series.labels[$0] } ?? "", default: 0] += seconds > 0 ? increase / seconds : 0
        }
        return rates
    }
}
