import Glibc
import Foundation
import TrellisCore
import TrellisSystem

/// The one-line progress of a long transfer on a terminal, redrawn in place
/// at most a few times a second: bytes, share, rate, time left and hosts
/// done, as rsync --info=progress2 and pv show it. Silent when stderr is
/// not a terminal, so logs and pipes get the summary line alone.
public final class ProgressDisplay: @unchecked Sendable {
    private let enabled: Bool
    private let started = Date()
    private var lastDrawn = Date.distantPast
    private var width = 0
    private let label: String

    /// A display whose line starts with `label`; by default it draws only when
    /// stderr is a terminal.
    public init(label: String, enabled: Bool = isatty(2) != 0) {
        self.label = label
        self.enabled = enabled
    }

    /// Redraws the line: bytes moved of `total`, share, rate, time left and, when
    /// given, hosts done. At most four redraws a second unless `force`.
    public func update(bytes: Int64, of total: Int64, hostsDone: Int? = nil, hosts: Int? = nil, force: Bool = false) {
        guard let now = drawTime(force: force) else { return }
        let elapsed = now.timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(bytes) / elapsed : 0
        var line = "\(label): \(ByteCount.text(bytes)) of \(ByteCount.text(total))"
        if total > 0 { line += " (\(Int(Double(bytes) * 100 / Double(total)))%)" }
        line += ", \(ByteCount.text(Int64(rate)))/s"
        if rate > 0, bytes < total { line += ", \(Self.clock(Double(total - bytes) / rate)) left" }
        if let hostsDone, let hosts { line += ", hosts \(hostsDone)/\(hosts)" }
        draw(line)
    }

    /// A count of hosts done, for tools that move no bytes (trellis exec).
    public func update(hostsDone: Int, of hosts: Int, force: Bool = false) {
        guard let now = drawTime(force: force) else { return }
        draw("\(label): \(hostsDone) of \(hosts) hosts done, \(Self.clock(now.timeIntervalSince(started))) so far")
    }

    /// Now, if the line is due (at most four redraws a second unless forced); nil otherwise.
    private func drawTime(force: Bool) -> Date? {
        guard enabled else { return nil }
        let now = Date()
        guard force || now.timeIntervalSince(lastDrawn) >= 0.25 else { return nil }
        lastDrawn = now
        return now
    }

    /// Redraws the line in place, blanking what a longer previous one left.
    private func draw(_ line: String) {
        let padding = max(0, width - line.count)
        width = line.count
        writeToStandardError("\r" + line + String(repeating: " ", count: padding))
    }

    /// Clears the line, so that the summary printed next stands alone.
    public func finish() {
        guard enabled, width > 0 else { return }
        writeToStandardError("\r" + String(repeating: " ", count: width) + "\r")
        width = 0
    }

    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        return whole >= 3600 ? "\(whole / 3600):\(String(format: "%02d:%02d", whole / 60 % 60, whole % 60))" : "\(whole / 60):\(String(format: "%02d", whole % 60))"
    }
}
