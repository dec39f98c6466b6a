import Foundation
import TrellisCore
import TrellisSystem

/// Where the reporting rank of a cluster tool (stage, sync) sends what it
/// learns: drawn on this terminal and printed here, or passed up, as marked
/// lines on stdout, to the command that launched the job over hosts, which
/// `ToolEventRelay` reads.
public final class ToolEvents<Report: Codable & Sendable> {
    /// Whether the events go up to the command that launched the job or are shown here.
    public enum Mode {
        /// Launched by the tool's own command over hosts: pass everything up.
        case launched
        /// Inside a job or alone: draw progress, and print the report with `show`.
        case terminal(show: (Report) -> Void)
    }

    let tool: String
    private let mode: Mode
    private let display: ProgressDisplay
    private var lastSent = Date.distantPast

    /// Events of the tool named `tool` (`stage`, `sync`), which labels the
    /// progress line and marks the lines passed up.
    public init(tool: String, mode: Mode) {
        self.tool = tool
        self.mode = mode
        display = ProgressDisplay(label: "trellis \(tool)")
    }

    static func marker(_ tool: String) -> String { "\u{1}trellis-\(tool) " }

    /// Reports `bytes` of `total` moved: redraws the progress line, or passes
    /// the count up at most five times a second (always once all have moved).
    public func progress(bytes: Int64, of total: Int64) {
        switch mode {
        case .launched:
            let now = Date()
            guard bytes == total || now.timeIntervalSince(lastSent) >= 0.2 else { return }
            lastSent = now
            writeAll(1, Array("\(Self.marker(tool))progress \(bytes) \(total)\n".utf8))
        case .terminal:
            display.update(bytes: bytes, of: total, force: bytes == total)
        }
    }

    /// Once, at the reporting rank, when every host's result is known.
    public func finished(_ report: Report) {
        switch mode {
        case .launched:
            guard let json = try? JSONEncoder().encode(report) else { return }
            writeAll(1, Array("\(Self.marker(tool))report ".utf8) + Array(json) + [UInt8(ascii: "\n")])
        case .terminal(let show):
            display.finish()
            show(report)
        }
    }
}
