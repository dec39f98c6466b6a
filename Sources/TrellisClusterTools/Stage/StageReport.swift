import Foundation

/// How a stage ended on one host, as every host learns it (the ranks make
/// these with the memberwise initializer: nothing written unless `entries`
/// and `bytes` say otherwise).
public struct StageHostResult: ClusterToolHostResult, Equatable {
    /// Where a host's stage ended.
    public enum Status: String, Codable, Sendable {
        /// Everything is in place under its real name.
        case staged
        /// This host failed; `error` says why and names the file.
        case failed
        /// This host was fine, but another failed, so it took back what it wrote.
        case removed
        /// Another host failed and --keep-partial kept what arrived here whole; some is missing.
        case partial
        /// This host stopped answering during the stage (killed, cut off).
        case lost
        /// Rank 0's host, which read the sources and is not a destination.
        case source
    }

    /// The host's name.
    public var host: String
    /// This host's rank in the job; rank 0's host holds the sources.
    public var rank: Int
    /// Where the stage ended on this host.
    public var status: Status
    /// Why this host failed (naming the file) or was lost; at the source, why reading failed.
    public var error: String?
    /// Entries (files, links, directories) put under their real names.
    public var entries = 0
    /// Bytes of file data written on this host.
    public var bytes: Int64 = 0

    /// Whether this is rank 0's host and not a destination.
    public var isSource: Bool { status == .source }
    /// Whether everything is in place under its real name.
    public var isDone: Bool { status == .staged }
}

/// The result of a whole stage, printed by the reporting rank (`--json`
/// prints it as it is).
public struct StageReport: ClusterToolReport, Equatable {
    /// The command's name in messages.
    public static let tool = "stage"
    /// Each host's result, in rank order; lost hosts have status `.lost`.
    public var hosts: [StageHostResult]
    /// Files and links in the sources, and the bytes of their data.
    public var files: Int
    /// The bytes of the files' data in the sources (once, not per host).
    public var bytes: Int64
    /// How long the stage took, in seconds.
    public var seconds: Double
    /// Rank 0's error in reading the sources, when it failed before any host wrote.
    public var sourceError: String?
    /// Sources not staged (sockets, devices, pipes).
    public var skipped: [String]

    /// One line, as rsync and sbcast end.
    public func summary() -> String {
        if let sourceError { return "nothing staged: \(sourceError)" }
        let targets = destinations
        let done = targets.count { $0.status == .staged }
        let rate = seconds > 0 ? Double(bytes) * Double(done) / seconds : 0
        var line = "staged \(files) file\(files == 1 ? "" : "s") (\(ByteCount.text(bytes))) to \(done) of \(targets.count) host\(targets.count == 1 ? "" : "s") in \(String(format: "%.2f", seconds)) s"
        if done > 0 { line += ", \(ByteCount.text(Int64(rate)))/s in all" }
        let failed = targets.filter { $0.status == .failed || $0.status == .lost }
        if !failed.isEmpty {
            line += "; failed on \(failed.map(\.host).joined(separator: ","))"
            if targets.contains(where: { $0.status == .removed }) { line += "; the others removed what they wrote" }
            if targets.contains(where: { $0.status == .partial }) { line += "; the others kept what arrived whole (--keep-partial)" }
        }
        return line
    }

    /// Each failed or lost host with its reason, and the sources skipped.
    public func problems() -> [String] {
        var lines = hosts.compactMap { host -> String? in
            switch host.status {
            case .failed: return "\(host.host): \(host.error ?? "failed")"
            case .lost: return "\(host.host): \(host.error ?? "stopped answering during the stage")"
            case .source: return host.error.map { "\(host.host): \($0)" }
            case .staged, .removed, .partial: return nil
            }
        }
        lines += skipped.map { "skipped \($0): not a file, directory or link" }
        return lines
    }
}

/// Byte counts for people: 1.5 GiB, 320 KiB.
public enum ByteCount {
    /// The count in the largest binary unit (B, KiB, MiB, GiB, TiB) that keeps it
    /// at 1 or more, with about three significant digits.
    public static func text(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: value < 10 ? "%.2f" : value < 100 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }
}

extension StageReport {
    /// The report as the command ends (see `printEnding(json:)`).
    public static func print(_ report: StageReport, json: Bool) { report.printEnding(json: json) }
}
