import Foundation
import TrellisCore

/// The reporting rank of a stage launched by `trellis stage --hosts`: passes
/// progress and the report up to the launching command as marked lines on
/// stdout, which `StageEventRelay` reads there.
public final class LaunchedStageObserver: StageObserver {
    static let marker = "\u{1}trellis-stage "
    private var lastSent = Date.distantPast

    public init() {}

    public func progress(bytes: Int64, of total: Int64) {
        let now = Date()
        guard bytes == total || now.timeIntervalSince(lastSent) >= 0.2 else { return }
        lastSent = now
        writeAll(1, Array("\(Self.marker)progress \(bytes) \(total)\n".utf8))
    }

    public func finished(_ report: StageReport) {
        guard let json = try? JSONEncoder().encode(report) else { return }
        writeAll(1, Array("\(Self.marker)report ".utf8) + Array(json) + [UInt8(ascii: "\n")])
    }
}

/// The reporting rank of a stage run inside a job (`trellis run`, `srun`) or
/// alone: draws progress on this terminal and prints the result itself.
public final class TerminalStageObserver: StageObserver {
    private let display = ProgressDisplay(label: "trellis stage")
    private let json: Bool
    public private(set) var report: StageReport?

    public init(json: Bool) {
        self.json = json
    }

    public func progress(bytes: Int64, of total: Int64) {
        display.update(bytes: bytes, of: total, force: bytes == total)
    }

    public func finished(_ report: StageReport) {
        display.finish()
        self.report = report
        StageReport.print(report, json: json)
    }
}

extension StageReport {
    /// The report as the command ends: one JSON object, or the problems on stderr and the summary line.
    public static func print(_ report: StageReport, json: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode(report) { writeAll(1, Array(data) + [UInt8(ascii: "\n")]) }
            return
        }
        for line in report.problems() { writeToStandardError("trellis stage: \(line)\n") }
        let summary = "trellis stage: \(report.summary())\n"
        if report.succeeded { writeAll(1, Array(summary.utf8)) } else { writeToStandardError(summary) }
    }
}
