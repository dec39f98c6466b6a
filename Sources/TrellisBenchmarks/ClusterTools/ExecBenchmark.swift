import Foundation
import TrellisCore

/// `trellis bench exec`: how long `trellis exec` takes to run a command on
/// N hosts and gather the output, against pdsh (with its ssh module) and
/// ClusterShell's clush over the same namespace hosts in the same run, the
/// three taking turns. Each runs from the first host as a logged-in user
/// would; every host's answer is checked, not just the exit code.
public struct ExecBenchmark {
    public let trellisExecutable: String
    public let hostCounts: [Int]
    public let commands: [String]
    public let repetitions: Int

    /// `trellis-agents`: `trellis exec --launcher agents`, the agents started before the timing.
    public static let tools = ["trellis", "trellis-agents", "pdsh", "clush"]

    public init(trellisExecutable: String, hostCounts: [Int], commands: [String], repetitions: Int) {
        self.trellisExecutable = trellisExecutable
        self.hostCounts = hostCounts
        self.commands = commands
        self.repetitions = repetitions
    }

    /// One run's time, or the median of several.
    public struct Record: Sendable {
        public var tool: String
        public var command: String
        public var hosts: Int
        public var milliseconds: Double

        public var json: String {
            "{\"bench\":\"exec\",\"tool\":\"\(tool)\",\"command\":\"\(command)\",\"hosts\":\(hosts),\"ms\":\(format(milliseconds, 1))}"
        }
    }

    /// Why the baselines cannot run here (nil: they can).
    public static var baselinesMissing: String? {
        let missing = missingPrograms(["pdsh", "clush"])
        return missing.isEmpty ? nil : "\(missing.joined(separator: " and ")) missing (Debian packages pdsh and clustershell)"
    }

    public func run(printTable: Bool, plotPath: String?) throws {
        if let reason = NamespaceCluster.unavailable {
            throw TrellisError(.notSupported, "trellis bench exec runs on namespace hosts: \(reason)")
        }
        if let missing = Self.baselinesMissing { throw TrellisError(.notSupported, "trellis bench exec compares with pdsh and clush: \(missing)") }
        let largest = hostCounts.max() ?? 1
        progress("making \(largest) namespace hosts with their sshds")
        let cluster = try NamespaceCluster(count: largest, prefix: "tx")
        defer { cluster.tearDown() }
        progress("starting an agent on each host")
        try cluster.startAgents(trellis: trellisExecutable)
        defer { cluster.stopAgents(trellis: trellisExecutable) }
        var medians: [Record] = []
        for command in commands {
            for hosts in hostCounts {
                var runs: [String: [Double]] = [:]
                for repetition in 0..<repetitions {
                    // Each tool goes first in turn, so drift and warm caches fall on all alike.
                    let order = (0..<Self.tools.count).map { Self.tools[($0 + repetition) % Self.tools.count] }
                    for tool in order {
                        progress("\(tool) \(command) on \(hosts) host\(hosts == 1 ? "" : "s") (\(repetition + 1)/\(repetitions))")
                        runs[tool, default: []].append(try time(tool, command: command, hosts: hosts, on: cluster))
                    }
                }
                var line: [String: Double] = [:]
                for tool in Self.tools {
                    let record = Record(tool: tool, command: command, hosts: hosts, milliseconds: runs[tool]!.sorted()[repetitions / 2])
                    print(record.json)
                    medians.append(record)
                    line[tool] = record.milliseconds
                }
                print("{\"bench\":\"exec-ratio\",\"command\":\"\(command)\",\"hosts\":\(hosts),"
                    + "\"trellis_vs_pdsh\":\(format(line["trellis"]! / line["pdsh"]!, 3)),\"trellis_vs_clush\":\(format(line["trellis"]! / line["clush"]!, 3)),"
                    + "\"agents_vs_pdsh\":\(format(line["trellis-agents"]! / line["pdsh"]!, 3)),\"agents_vs_clush\":\(format(line["trellis-agents"]! / line["clush"]!, 3))}")
            }
        }
        if printTable { print(Self.table(medians)) }
        if let plotPath {
            try SeriesPlot(
                title: "One command on N hosts: trellis exec (ssh, agents), pdsh, clush", xLabel: "hosts", yLabel: "ms to every host's answer",
                series: Dictionary(grouping: medians) { "\($0.tool) \($0.command)" }.mapValues { $0.map { (Double($0.hosts), $0.milliseconds) } }
            ).write(to: plotPath)
            progress("plot written to \(plotPath)")
        }
    }

    /// Milliseconds for one tool to run `command` on the first `hosts` hosts; throws unless every host answered right.
    private func time(_ tool: String, command: String, hosts count: Int, on cluster: NamespaceCluster) throws -> Double {
        let names = cluster.hosts.prefix(count).map(\.name)
        let list = names.joined(separator: ",")
        let invocation: [String]
        var environment = cluster.agentEnvironment
        switch tool {
        case "trellis":
            invocation = [trellisExecutable, "exec", "--hosts", list, "--ssh", "ssh -F \(cluster.sshConfig)", "--", command]
        case "trellis-agents":
            invocation = [trellisExecutable, "exec", "--hosts", list, "--launcher", "agents", "--", command]
        case "pdsh":
            invocation = ["pdsh", "-S", "-R", "ssh", "-w", list, command]
            environment["PDSH_SSH_ARGS_APPEND"] = "-F \(cluster.sshConfig)"
        default:
            invocation = ["clush", "-S", "-b", "-w", list, "-o", "-F \(cluster.sshConfig)", command]
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = try cluster.runAsUser(on: 0, invocation, environment: environment, timeoutSeconds: 300)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        guard outcome.status == 0 else {
            throw TrellisError(.launchFailed, "\(tool) \(command) on \(count) hosts exited \(outcome.status): \(outcome.combined.suffix(1500))")
        }
        if command == "hostname" {
            let missing = names.filter { !outcome.output.contains($0) }
            guard missing.isEmpty else {
                throw TrellisError(.launchFailed, "\(tool) hostname on \(count) hosts: no answer from \(missing.joined(separator: ",")): \(outcome.combined.suffix(1500))")
            }
        }
        return elapsed
    }

    static func table(_ records: [Record]) -> String {
        var lines = ["command    hosts   trellis exec ms   agents ms   pdsh ms   clush ms   vs pdsh   vs clush   agents vs pdsh   agents vs clush"]
        var index = 0
        while index + 3 < records.count {
            let (ours, agents, pdsh, clush) = (records[index], records[index + 1], records[index + 2], records[index + 3])
            lines.append([
                ours.command.padding(toLength: 9, withPad: " ", startingAt: 0), String(ours.hosts).leftPadded(6),
                format(ours.milliseconds, 0).leftPadded(16), format(agents.milliseconds, 0).leftPadded(10),
                format(pdsh.milliseconds, 0).leftPadded(8), format(clush.milliseconds, 0).leftPadded(9),
                format(ours.milliseconds / pdsh.milliseconds, 2).leftPadded(8), format(ours.milliseconds / clush.milliseconds, 2).leftPadded(9),
                format(agents.milliseconds / pdsh.milliseconds, 2).leftPadded(15), format(agents.milliseconds / clush.milliseconds, 2).leftPadded(16),
            ].joined(separator: "  "))
            index += 4
        }
        return lines.joined(separator: "\n")
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("bench exec: \(text)...\n".utf8))
    }
}
