import ArgumentParser
import Foundation
import TrellisFSClient

/// `trellis fsck`: check a file system and, with --repair, fix it.
struct CheckCommand: ClientCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check a file system for orphaned datafiles and objects, dangling entries, wrong link counts and size mismatches; --repair fixes them.",
        discussion: """
            Safe while clients work: objects changed within --grace-seconds are left alone and every repair looks again first. \
            With a server down, the checks that need it are skipped and named. Exit status: 0 clean, 1 problems found and \
            all repaired, 4 problems left. Run as uid 0.
            """)
    @OptionGroup var options: FileSystemOptions
    @Flag(help: "Fix what is found (orphans go to /lost+found, dangling entries are removed, counts are set).") var repair = false
    @Option(help: "Leave alone what changed less than this many seconds ago.") var graceSeconds: UInt32 = 300
    @Flag(help: "One JSON record per finding, then a summary record.") var json = false

    struct Summary: Codable {
        var summary = true
        var servers: Int
        var unreachableServers: [Int]
        var skippedChecks: [String]
        var objects: Int
        var entries: Int
        var found: [String: Int]
        var repaired: Int
        var left: Int
    }

    func run(_ fs: FileSystemClient) throws {
        var checker = FileSystemChecker(fs: fs)
        checker.repair = repair
        checker.graceSeconds = graceSeconds
        if isatty(STDERR_FILENO) == 1 { checker.progress = { try? FileHandle.standardError.write(contentsOf: Data(("fsck: " + $0 + "\n").utf8)) } }
        let report = try checker.run()
        for finding in report.findings {
            if json {
                try printJSON(finding)
            } else {
                let state = finding.repaired ? "repaired" : repair ? "NOT repaired" : "found"
                print("\(finding.kind.rawValue): \(finding.path ?? "handle \(finding.handle)") (server \(finding.server)): \(finding.detail) [\(state)]")
            }
        }
        let summary = Summary(
            servers: report.servers, unreachableServers: report.unreachableServers, skippedChecks: report.skippedChecks,
            objects: report.objectsScanned, entries: report.entriesScanned,
            found: Dictionary(grouping: report.findings, by: \.kind.rawValue).mapValues(\.count),
            repaired: report.findings.count - report.problemsLeft, left: report.problemsLeft)
        if json {
            try printJSON(summary)
        } else {
            // With data_replicas there are more replica groups than servers; fsck asks each group.
            let unit = fs.configuration.servers.count == fs.configuration.serverCount ? "server" : "replica group"
            for server in report.unreachableServers { print("\(unit) \(server) (\(fs.configuration.servers[server].serviceName)) did not answer") }
            for skipped in report.skippedChecks { print("skipped: \(skipped)") }
            print("\(fs.configuration.name): \(summary.objects) objects and \(summary.entries) entries on \(report.servers - report.unreachableServers.count) of \(report.servers) \(unit)s; "
                + "\(report.findings.count) problems, \(summary.repaired) repaired, \(summary.left) left")
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
