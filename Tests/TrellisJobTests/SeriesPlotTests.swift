import Foundation
import FoundationXML
import Testing
import TrellisBenchmarks

@Suite struct SeriesPlotTests {
    @Test func everySeriesIsALineOfPointsInsideTheCanvas() throws {
        let plot = SeriesPlot(
            title: "a < b & c", xLabel: "hosts", yLabel: "ms",
            series: ["pdsh true": [(1, 372), (2, 524), (16, 2663)], "trellis true": [(16, 2521), (1, 21), (2, 420)]])
        let svg = plot.svg()
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        #expect(svg.components(separatedBy: "<circle").count == 7)
        #expect(svg.contains("a &lt; b &amp; c") && svg.contains(">pdsh true<") && svg.contains(">trellis true<"))
        let numbers = svg.split(separator: "\"").compactMap { Double($0) } + svg.split(separator: " ").flatMap { $0.split(separator: ",") }.compactMap { Double($0) }
        #expect(numbers.allSatisfy { $0 >= 0 && $0 <= 720 }, "a coordinate outside the 720 x 440 canvas")
        _ = try XMLDocument(xmlString: svg)
    }
}
