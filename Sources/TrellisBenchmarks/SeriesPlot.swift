import Foundation

/// A line plot of benchmark series as SVG (time against hosts for every
/// tool, as the cluster-tools paper draws its figures). Hosts go on a
/// log-2 axis, so 1, 2, 4, 8 and 16 are evenly spaced; time is linear from 0.
public struct SeriesPlot {
    /// The heading above the plot.
    public var title: String
    /// The label under the horizontal (log-2) axis.
    public var xLabel: String
    /// The label beside the vertical axis.
    public var yLabel: String
    /// Each series' points, by name.
    public var series: [String: [(x: Double, y: Double)]]

    /// A plot of `series`, each drawn as a colored line with a legend entry.
    public init(title: String, xLabel: String, yLabel: String, series: [String: [(x: Double, y: Double)]]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    private static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"]

    /// The plot as an SVG document.
    public func svg() -> String {
        let (width, height) = (720.0, 440.0)
        let (left, right, top, bottom) = (70.0, 200.0, 40.0, 50.0)
        let points = series.values.flatMap { $0 }
        let xs = points.map { log2(max($0.x, 1)) }
        let (xMin, xMax) = (xs.min() ?? 0, max(xs.max() ?? 1, (xs.min() ?? 0) + 1))
        let yMax = Self.niceCeiling(points.map(\.y).max() ?? 1)
        func px(_ x: Double) -> Double { left + (log2(max(x, 1)) - xMin) / (xMax - xMin) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - y / yMax * (height - top - bottom) }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="14">\(Self.escaped(title))</text>
            <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="black"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(height - bottom)" stroke="black"/>
            <text x="\(Int((left + width - right) / 2))" y="\(Int(height - 12))" text-anchor="middle">\(Self.escaped(xLabel))</text>
            <text x="16" y="\(Int((top + height - bottom) / 2))" text-anchor="middle" transform="rotate(-90 16 \(Int((top + height - bottom) / 2)))">\(Self.escaped(yLabel))</text>

            """
        for x in Set(points.map(\.x)).sorted() {
            out += "<text x=\"\(coordinate(px(x)))\" y=\"\(Int(height - bottom + 16))\" text-anchor=\"middle\">\(Self.label(x))</text>\n"
        }
        for step in 0...4 {
            let y = yMax * Double(step) / 4
            out += "<line x1=\"\(left)\" y1=\"\(coordinate(py(y)))\" x2=\"\(width - right)\" y2=\"\(coordinate(py(y)))\" stroke=\"#ddd\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(coordinate(py(y) + 4))\" text-anchor=\"end\">\(Self.label(y))</text>\n"
        }
        for (index, name) in series.keys.sorted().enumerated() {
            let color = Self.colors[index % Self.colors.count]
            let line = series[name]!.sorted { $0.x < $1.x }
            out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(line.map { "\(coordinate(px($0.x))),\(coordinate(py($0.y)))" }.joined(separator: " "))\"/>\n"
            for point in line { out += "<circle cx=\"\(coordinate(px(point.x)))\" cy=\"\(coordinate(py(point.y)))\" r=\"3\" fill=\"\(color)\"/>\n" }
            let legendY = top + 10 + Double(index) * 18
            out += "<line x1=\"\(width - right + 15)\" y1=\"\(legendY)\" x2=\"\(width - right + 35)\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"2\"/>"
            out += "<text x=\"\(width - right + 40)\" y=\"\(legendY + 4)\">\(Self.escaped(name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// Writes the SVG document to `path`, replacing any file there.
    public func write(to path: String) throws {
        try svg().write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= value } ?? 10 * power
    }

    private static func label(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : format(value, 1)
    }

    private func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
