import Foundation
import TrellisCore
import TrellisHosts
import TrellisSystem

/// How a sync ended on one host.
public struct SyncHostResult: ClusterToolHostResult, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Identical to the source now (or, with --dry-run, `changes` would make it so).
        case synced
        case failed
        /// Stopped answering during the sync.
        case lost
        /// Rank 0's host, which holds the source and is not a destination.
        case source
    }

    public var host: String
    public var rank: Int
    public var status: Status
    public var error: String?
    /// Files whose bytes arrived, and those bytes.
    public var received = 0
    public var bytes: Int64 = 0
    /// Entries set right in place: modes, owners, times, attributes, links.
    public var fixed = 0
    public var deleted = 0
    public var unchanged = 0
    /// With --dry-run: what would change.
    public var changes: [SyncPlan.Change]?

    public var isSource: Bool { status == .source }
    public var isDone: Bool { status == .synced }

    init(host: String, rank: Int, status: Status) {
        self.host = host
        self.rank = rank
        self.status = status
    }
}

/// The result of a whole sync, printed by the reporting rank.
public struct SyncReport: ClusterToolReport, Equatable {
    public static let tool = "sync"
    public var hosts: [SyncHostResult]
    /// Entries and file bytes in the source.
    public var entries: Int
    public var bytes: Int64
    /// Bytes rank 0 broadcast: each needed file once per group of hosts that needed it.
    public var bytesSent: Int64
    public var seconds: Double
    public var dryRun: Bool
    public var sourceError: String?

    public func summary() -> String {
        if let sourceError { return "nothing synced: \(sourceError)" }
        let targets = destinations
        let done = targets.filter { $0.status == .synced }
        let received = done.reduce(0) { $0 + $1.received }
        let fixed = done.reduce(0) { $0 + $1.fixed }
        let deleted = done.reduce(0) { $0 + $1.deleted }
        let unchanged = done.reduce(0) { $0 + $1.unchanged }
        var line: String
        if dryRun {
            line = "would send \(received) file\(received == 1 ? "" : "s"), fix \(fixed) in place and delete \(deleted) on \(targets.count) host\(targets.count == 1 ? "" : "s") "
                + "(\(unchanged) unchanged; counted over the hosts)"
        } else {
            line = "synced \(done.count) of \(targets.count) host\(targets.count == 1 ? "" : "s") in \(String(format: "%.2f", seconds)) s: "
                + "\(received) file\(received == 1 ? "" : "s") received (\(ByteCount.text(bytesSent)) broadcast), \(fixed) fixed in place, "
                + "\(deleted) deleted, \(unchanged) unchanged (counted over the hosts)"
        }
        let failed = targets.filter { $0.status == .failed || $0.status == .lost }
        if !failed.isEmpty { line += "; failed on \(failed.map(\.host).joined(separator: ","))" }
        return line
    }

    public func problems() -> [String] {
        hosts.compactMap { host in host.error.map { "\(host.host): \($0)" } }
    }

    /// With --dry-run: each host's changes, hosts with the same changes folded under their node set.
    public func changeListing() -> String {
        var groups: [[SyncPlan.Change]: [String]] = [:]
        var order: [[SyncPlan.Change]] = []
        for host in destinations {
            let changes = host.changes ?? []
            if groups[changes] == nil { order.append(changes) }
            groups[changes, default: []].append(host.host)
        }
        var text = ""
        for changes in order {
            let hosts = groups[changes]!
            text += "\(NodeSet(hosts).description) (\(hosts.count)): \(changes.isEmpty ? "nothing to change" : "\(changes.count) change\(changes.count == 1 ? "" : "s")")\n"
            for change in changes { text += "  \(change.kind.rawValue) \(change.path)\n" }
        }
        return text
    }

    public static func print(_ report: SyncReport, json: Bool) {
        if report.dryRun && !json { writeAll(1, Array(report.changeListing().utf8)) }
        report.printEnding(json: json)
    }
}
