import Foundation

/// A table for a terminal, as the benchmarks print after their JSON lines:
/// titles over columns two spaces apart, the first column left-aligned and
/// the others right-aligned, each as wide as its title or its widest cell.
public struct TextTable {
    private let titles: [String]
    private var rows: [[String]] = []

    /// An empty table with these column titles.
    public init(_ titles: [String]) {
        self.titles = titles
    }

    /// Adds a row, a cell per column.
    public mutating func append(_ cells: [String]) {
        rows.append(cells)
    }

    /// The table as lines of text, titles first.
    public var text: String {
        let lines = [titles] + rows
        let widths = titles.indices.map { column in lines.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return lines.map { cells in
            cells.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0) : cell.leftPadded(widths[column])
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
