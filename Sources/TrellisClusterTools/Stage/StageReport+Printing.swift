import Foundation
import TrellisCore
import TrellisSystem

extension StageReport {
    /// The report as the command ends: one JSON object, or the problems on stderr and the summary line.
    public static func print(_ report: StageReport, json: Bool) {
        ToolReportPrinter.print(report, json: json, tool: "stage", problems: report.problems(), summary: report.summary(), succeeded: report.succeeded)
    }
}

/// How every cluster tool ends: the whole result as JSON, or each problem
/// on stderr and one summary line (on stdout when all went well).
enum ToolReportPrinter {
    static func print<Report: Encodable>(_ report: Report, json: Bool, tool: String, problems: [String], summary: String, succeeded: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode(report) { writeAll(1, Array(data) + [UInt8(ascii: "\n")]) }
            return
        }
        for line in problems { writeToStandardError("trellis \(tool): \(line)\n") }
        let line = "trellis \(tool): \(summary)\n"
        if succeeded { writeAll(1, Array(line.utf8)) } else { writeToStandardError(line) }
    }
}
