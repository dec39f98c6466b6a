import Foundation
import TrellisCore
import TrellisHosts
import TrellisSystem

/// How a sync ended on one host.
public struct SyncHostResult: ClusterToolHostResult, Equatable {
    /// Where a host's sync ended.
    public enum Status: String, Codable, Sendable {
        /// Identical to the source now (or, with --dry-run, `changes` would make it so).
        case synced
        /// This host failed; `error` says why. The files that arrived whole are in place.
        case failed
        /// Stopped answering during the sync.
        case lost
        /// Rank 0's host, which holds the source and is not a destination.
        case source
    }

    /// The host's name.
    public var host: String
    /// This host's rank in the job; rank 0's host holds the sources.
    public var rank: Int
    /// Where the sync ended on this host.
    public var status: Status
    /// Why this host failed or was lost; at the source, why reading failed.
    public var error: String?
    /// Files whose bytes arrived, and those bytes.
    public var received = 0
    /// The bytes of those files written on this host.
    public var bytes: Int64 = 0
    /// Entries set right in place: modes, owners, times, attributes, links.
    public var fixed = 0
    /// Paths removed (or, with --dry-run, to remove) because the source lacks them; only with --delete.
    public var deleted = 0
    /// Entries already identical to the source's.
    public var unchanged = 0
    /// With --dry-run: what would change.
    public var changes: [SyncPlan.Change]?

    /// Whether this is rank 0's host and not a destination.
    public var isSource: Bool { status == .source }
    /// Whether the destination is identical to the source (or, with --dry-run, the changes are known).
    public var isDone: Bool { status == .synced }
}

/// The result of a whole sync, printed by the reporting rank.
public struct SyncReport: ClusterToolReport, Equatable {
    /// The command's name in messages.
    public static let tool = "sync"
    /// Each host's result, in rank order; lost hosts have status `.lost`.
    public var hosts: [SyncHostResult]
    /// Entries and file bytes in the source.
    public var entries: Int
    /// The bytes of the source's files.
    public var bytes: Int64
    /// Bytes rank 0 broadcast: each needed file once per group of hosts that needed it.
    public var bytesSent: Int64
    /// How long the sync took, in seconds.
    public var seconds: Double
    /// Whether this was a --dry-run: the counts say what would change, and nothing did.
    public var dryRun: Bool
    /// Why rank 0 could not read the source (not a directory, unreadable); nothing is synced when set.
    public var sourceError: String?

    /// One line, as rsync ends: hosts synced, files received, bytes broadcast,
    /// entries fixed, deleted and unchanged (summed over the hosts), and the
    /// hosts that failed; with --dry-run, what would change.
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

    /// Each host's error behind its name, one line each.
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

    /// The report as the command ends: with --dry-run (and not --json) the
    /// change listing on stdout first, then as `printEnding(json:)` prints it.
    public static func print(_ report: SyncReport, json: Bool) {
        if report.dryRun && !json { writeAll(1, Array(report.changeListing().utf8)) }
        report.printEnding(json: json)
    }
}
