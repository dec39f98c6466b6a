import ArgumentParser
import Foundation
import TrellisFSClient
import TrellisFSProtocol

extension FileSystemCommand {
    /// `trellis fs replicas`: each replica group's copies and their states,
    /// as `beegfs-ctl --listmirrorgroups` and `gluster volume heal info` show them.
    struct Replicas: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "replicas",
            abstract: "Show each replica group's copies: primary, good, behind, resyncing (with progress), needs-resync, or not answering.",
            discussion: """
                Every copy of every group is asked how it stands; the primary also tells how each member stands. \
                A group is healthy when every copy is good, degraded while one is out (the file system still \
                serves it), unavailable when no copy serves as primary. Exits non-zero unless every group is healthy.
                """)
        @OptionGroup var options: FileSystemOptions
        @Flag(help: "One JSON object per replica group.") var json = false

        struct Record: Codable {
            struct Copy: Codable {
                var server: Int?
                var service: String
                var role: String
                var epoch: UInt64?
                var state: String?
                var owed: UInt64?
                var resync: Resync?
                var error: String?
            }

            struct Resync: Codable {
                var full: Bool
                var sentBytes: UInt64, totalBytes: UInt64
                var sentObjects: UInt64, totalObjects: UInt64
                var seconds: Double
            }

            var group: Int
            /// "metadata and data" (one group per server) or "data" (a set kept for a directory's copy count).
            var keeps: String
            var health: String
            var epoch: UInt64?
            var members: [Int]
            var copies: [Copy]
        }

        func run(_ fs: FileSystemClient) throws {
            let reports = fs.replicaStatus()
            for report in reports {
                let record = Self.record(report, keeps: fs.configuration.metadataGroups.contains(report.group) ? "metadata and data" : "data")
                if json {
                    try printJSON(record)
                } else {
                    print("group \(record.group) (\(record.keeps), \(record.copies.count) \(record.copies.count == 1 ? "copy" : "copies")): \(record.health), epoch \(record.epoch.map(String.init) ?? "?"), members \(record.members)")
                    for copy in record.copies {
                        var line = "  " + (copy.server.map { "server \($0)" } ?? copy.service) + ": \(copy.role)"
                        if let state = copy.state, state != copy.role { line += ", \(state)" }
                        if let owed = copy.owed, owed > 0 { line += ", owes \(owed) changes" }
                        if let resync = copy.resync {
                            let percent = resync.totalBytes == 0 ? 100 : Double(resync.sentBytes) * 100 / Double(resync.totalBytes)
                            line += String(
                                format: ", %@ resync %.0f%% (%llu of %llu objects, %.1f of %.1f MiB in %.1f s)", resync.full ? "full" : "incremental", percent,
                                resync.sentObjects, resync.totalObjects, Double(resync.sentBytes) / 1_048_576, Double(resync.totalBytes) / 1_048_576, resync.seconds)
                        }
                        if let error = copy.error { line += ": \(error)" }
                        print(line)
                    }
                }
            }
            let unhealthy = reports.filter { $0.health != "healthy" }.map { "\($0.group)" }
            if !unhealthy.isEmpty { throw CommandFailure("replica group(s) \(unhealthy.joined(separator: ", ")) of \(fs.configuration.name) are not healthy") }
        }

        /// A report as printed: each copy with its own role and the state its primary sees.
        static func record(_ report: ReplicaGroupReport, keeps: String) -> Record {
            let primary = report.primary
            let copies = report.copies.map { copy -> Record.Copy in
                guard let status = copy.status else {
                    return Record.Copy(server: nil, service: copy.serviceName, role: "not answering", error: copy.error)
                }
                let seen = primary?.memberStates.first { $0.server == status.server }
                let resync = seen.flatMap { state in
                    state.totalObjects == 0 ? nil : Record.Resync(
                        full: state.full, sentBytes: state.sentBytes, totalBytes: state.totalBytes, sentObjects: state.sentObjects,
                        totalObjects: state.totalObjects, seconds: Double(state.milliseconds) / 1000)
                }
                return Record.Copy(
                    server: Int(status.server), service: copy.serviceName, role: status.role.name, epoch: status.epoch,
                    state: status.role == .primary ? "good" : seen?.state.name, owed: seen?.owed, resync: resync)
            }
            return Record(group: report.group, keeps: keeps, health: report.health, epoch: primary?.epoch, members: primary?.members.map(Int.init) ?? [], copies: copies)
        }
    }
}
