import Foundation
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisSystem

/// A cluster tool over hosts (`trellis stage --hosts`, `trellis sync
/// --hosts`): one rank per host through the launcher's proxy tree, with
/// rank 0 on this host, where the sources are, and what the reporting rank
/// passes up (`ToolEvents`) shown here.
public struct ToolJob {
    /// The hosts and the bootstrap; the rest is set here.
    public var options: LaunchOptions
    /// The tool's name (`stage`, `sync`, `shell`), as messages and the ranks' marked lines use it.
    public let tool: String
    /// The program every rank runs, told whether rank 0's host (this one) is a destination too.
    public var rankProgram: (_ sourceIsDestination: Bool) -> [String]
    /// Show the progress line on a terminal while the job runs.
    public var showProgress = true
    /// Rank 0's own output goes to this terminal as it is (a shell's), not as another host's.
    public var passesOutput = false

    /// A job of the tool named `tool` over the hosts `options` names, each rank
    /// running what `rankProgram` returns; progress shown, rank 0's output not passed through.
    public init(tool: String, options: LaunchOptions, rankProgram: @escaping (_ sourceIsDestination: Bool) -> [String]) {
        self.tool = tool
        self.options = options
        self.rankProgram = rankProgram
    }

    /// Runs the job; returns the report (nil when the reporting rank ended
    /// before it could give one) and the launcher's notices.
    public func run<Report: Codable & Sendable>(reporting: Report.Type) throws -> (report: Report?, notices: [String]) {
        let (relay, _, notices) = try launch(reporting: Report.self)
        return (relay.report, notices)
    }

    /// Runs a job whose ranks report by their exit codes (a shell); returns the job's exit code and the launcher's notices.
    public func runToExitCode() throws -> (exitCode: Int32, notices: [String]) {
        let (_, outcome, notices) = try launch(reporting: StageReport.self)
        return (outcome.exitCode, notices)
    }

    private func launch<Report: Codable & Sendable>(reporting: Report.Type) throws -> (ToolEventRelay<Report>, JobOutcome, [String]) {
        guard let list = options.hosts, !list.hosts.isEmpty else {
            throw TrellisError(.invalidArgument, "trellis \(tool) over hosts needs hosts: --hosts LIST, --hostfile FILE or a Slurm allocation")
        }
        var hosts = NodeSet(list.names).names
        let sourceIsDestination: Bool
        if let own = hosts.firstIndex(where: ProxyBootstrap.isThisHost) {
            hosts.insert(hosts.remove(at: own), at: 0)
            sourceIsDestination = true
        } else if options.bootstrap.kind == .slurm {
            throw TrellisError(.invalidArgument, "with --launcher slurm, run trellis \(tool) on a node of the allocation (rank 0 reads the sources where it runs)")
        } else {
            hosts.insert(IPv4Address.thisHostName(), at: 0)
            sourceIsDestination = false
        }
        var options = options
        options.hosts = HostList(hosts.map { .init(name: $0, slots: 1) })
        options.applications = [LaunchApplication(count: hosts.count, program: rankProgram(sourceIsDestination))]
        options.ranksPerHost = 1
        options.keepGoing = true
        // The report names what failed; the runtime's own warnings about a lost member would only repeat it.
        if ProcessEnvironment.value("TRELLIS_LOG_LEVEL") == nil { options.environment["TRELLIS_LOG_LEVEL"] = "error" }
        let relay = ToolEventRelay<Report>(
            tool: tool, hostOfRank: hosts, display: ProgressDisplay(label: "trellis \(tool)", enabled: showProgress && isatty(2) != 0), passesRankZero: passesOutput)
        options.watcher = relay
        let outcome = try JobLauncher(options: options).runToOutcome()
        relay.display.finish()
        var notices = relay.notices
        if relay.report == nil, case .lost(let reason)? = outcome.ends.first {
            notices.append("\(hosts[0]) (rank 0, which reads the sources) was lost: \(reason)")
        }
        return (relay, outcome, notices)
    }
}

/// Takes the ranks' output for a cluster tool: rank 0's marked lines are
/// progress and the report; anything else a rank prints goes to stderr
/// behind its host's name.
final class ToolEventRelay<Report: Decodable & Sendable>: JobWatcher, @unchecked Sendable {
    let display: ProgressDisplay
    private let marker: String
    private let hostOfRank: [String]
    private(set) var report: Report?
    private(set) var notices: [String] = []

    private let passesRankZero: Bool

    init(tool: String, hostOfRank: [String], display: ProgressDisplay, passesRankZero: Bool = false) {
        self.passesRankZero = passesRankZero
        marker = ToolEvents<StageReport>.marker(tool)
        self.hostOfRank = hostOfRank
        self.display = display
    }

    func output(rank: Int, stream: Int, bytes: [UInt8]) {
        if passesRankZero, rank == 0 {
            writeAll(stream == 2 ? 2 : 1, bytes)
            return
        }
        let host = hostOfRank.indices.contains(rank) ? hostOfRank[rank] : "rank \(rank)"
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let text = String(decoding: line, as: UTF8.self)
            guard stream == 1, text.hasPrefix(marker) else {
                display.finish()
                writeToStandardError("\(host): \(text)\n")
                continue
            }
            let event = text.dropFirst(marker.count)
            if event.hasPrefix("progress ") {
                let numbers = event.split(separator: " ").dropFirst().compactMap { Int64($0) }
                if numbers.count == 2 { display.update(bytes: numbers[0], of: numbers[1], force: numbers[0] == numbers[1]) }
            } else if event.hasPrefix("report ") {
                report = try? JSONDecoder().decode(Report.self, from: Data(event.dropFirst("report ".count).utf8))
            }
        }
    }

    func notice(_ text: String) {
        notices.append(text)
    }
}

extension ToolJob {
    /// This host's name as a tool's rank reports it: the job's host list's
    /// name for it, Slurm's, or the kernel's.
    public static var hostName: String {
        let environment = ProcessEnvironment.current()
        return environment["TRELLIS_HOST_NAME"] ?? environment["SLURMD_NODENAME"] ?? IPv4Address.thisHostName()
    }
}
