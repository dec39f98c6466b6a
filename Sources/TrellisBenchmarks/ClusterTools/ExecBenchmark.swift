import ArgumentParser
import Foundation
import TrellisCore

/// `trellis bench exec`: how long `trellis exec` takes to run a command on
/// N hosts and gather the output, against pdsh (with its ssh module) and
/// ClusterShell's clush over the same namespace hosts in the same run, the
/// three taking turns. Each runs from the first host as a logged-in user
/// would; every host's answer is checked, not just the exit code.
public struct ExecBenchmark: ProgramBenchmark {
    @Option(name: .customLong("hosts"), parsing: .upToNextOption, help: "Host counts (as many namespace hosts as the largest are made).")
    var hostCounts: [Int] = [1, 2, 4, 8, 16]
    @Option(parsing: .upToNextOption, help: "Commands to run on every host (for hostname, every host's answer is checked).")
    var commands: [String] = ["true", "hostname"]
    @Option(name: .customLong("repeat"), help: "Runs per point (the median is kept).") var repetitions = 5
    @OptionGroup var output: HostBenchOutput

    /// `trellis-agents`: `trellis exec --launcher agents`, the agents started before the timing.
    public static let tools = ["trellis", "trellis-agents", "pdsh", "clush"]

    /// Every command at every host count, at the defaults.
    public init() {}

    /// Refuses host counts outside 1 to 250, no runs, or no command.
    public func validate() throws {
        guard hostCounts.allSatisfy({ (1...250).contains($0) }), repetitions >= 1, !commands.isEmpty else {
            throw ValidationError("host counts are 1 to 250, --repeat at least 1, and at least one command")
        }
    }

    /// Why the baselines cannot run here (nil: they can).
    public static var baselinesMissing: String? {
        let missing = missingPrograms(["pdsh", "clush"])
        return missing.isEmpty ? nil : "\(missing.joined(separator: " and ")) missing (Debian packages pdsh and clustershell)"
    }

    /// Makes the namespace hosts and starts their agents, runs every command
    /// with every tool in turn, and prints a `ToolTiming` per tool, command and
    /// point and `ToolSpeedup` lines as JSON (without --json a table, with
    /// --plot an SVG). Throws `notSupported` where namespace hosts cannot be
    /// made or pdsh or clush is missing, and `launchFailed` when a tool fails or a
    /// host does not answer.
    public func run(executable trellisExecutable: String) throws {
        let largest = hostCounts.max() ?? 1
        let cluster = try NamespaceCluster.forBenchmark("exec", count: largest, prefix: "tx", comparesWith: "pdsh and clush", missing: Self.baselinesMissing) {
            progress("making \(largest) namespace hosts with their sshds")
        }
        defer { cluster.tearDown() }
        progress("starting an agent on each host")
        try cluster.startAgents(trellis: trellisExecutable)
        defer { cluster.stopAgents(trellis: trellisExecutable) }
        var medians: [ToolTiming] = []
        let trials = ToolTrials(tools: Self.tools, repetitions: repetitions)
        for command in commands {
            for hosts in hostCounts {
                let byTool = try trials.medians { tool, repetition in
                    progress("\(tool) \(command) on \(hosts) host\(hosts == 1 ? "" : "s") (\(repetition + 1)/\(repetitions))")
                    return [command: try time(tool, trellisExecutable, command: command, hosts: hosts, on: cluster)]
                }[command]!
                for tool in Self.tools {
                    let record = ToolTiming(bench: "exec", scenario: command, tool: tool, hosts: hosts, seconds: byTool[tool]!)
                    record.printLine()
                    medians.append(record)
                }
                for line in ToolSpeedup.lines(
                    bench: "exec", scenario: command, hosts: hosts, medians: byTool, tools: ["trellis", "trellis-agents"], baselines: ["pdsh", "clush"])
                {
                    line.printLine()
                }
            }
        }
        if !output.json { print(Self.table(medians)) }
        if let plotPath = output.plot {
            try SeriesPlot(
                title: "One command on N hosts: trellis exec (ssh, agents), pdsh, clush", xLabel: "hosts", yLabel: "ms to every host's answer",
                series: Dictionary(grouping: medians) { "\($0.tool) \($0.scenario)" }.mapValues { $0.map { (Double($0.hosts), $0.seconds * 1000) } }
            ).write(to: plotPath)
            progress("plot written to \(plotPath)")
        }
    }

    /// Seconds for one tool to run `command` on the first `hosts` hosts; throws unless every host answered right.
    private func time(_ tool: String, _ trellisExecutable: String, command: String, hosts count: Int, on cluster: NamespaceCluster) throws -> Double {
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
        let (outcome, elapsed) = try timed { try cluster.runAsUser(on: 0, invocation, environment: environment, timeoutSeconds: 300) }
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

    static func table(_ records: [ToolTiming]) -> String {
        var table = TextTable([
            "command", "hosts", "trellis exec ms", "agents ms", "pdsh ms", "clush ms", "vs pdsh", "vs clush", "agents vs pdsh", "agents vs clush",
        ])
        for (ours, seconds) in ToolTiming.points(records) {
            let (agents, pdsh, clush) = (seconds("trellis-agents"), seconds("pdsh"), seconds("clush"))
            table.append([
                ours.scenario, String(ours.hosts), format(ours.seconds * 1000, 0), format(agents * 1000, 0), format(pdsh * 1000, 0), format(clush * 1000, 0),
                format(ours.seconds / pdsh, 2), format(ours.seconds / clush, 2), format(agents / pdsh, 2), format(agents / clush, 2),
            ])
        }
        return table.text
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench exec: \(text)...")
    }
}
