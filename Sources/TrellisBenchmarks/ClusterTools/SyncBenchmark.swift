import ArgumentParser
import Foundation
import TrellisCore
import TrellisLauncher

/// `trellis bench sync`: how long `trellis sync` takes to bring N namespace
/// hosts, each holding yesterday's copy of a tree on its own disk, up to
/// today's tree in which a share of the files changed, against an `rsync -a`
/// loop over ssh (one host after the other) and a parallel rsync (`xargs -P`,
/// every host at once), in the same run, taking turns; then again with
/// nothing to do. `trellis sync` runs twice: its proxies started over ssh,
/// and started by agents that `trellis agents up` left on the hosts before
/// the timing; beside the agents, as the fair baseline for them, the rsync
/// loop runs again over ssh connections kept open (ControlMaster), also
/// opened before the timing. Before each run every host gets yesterday's copy back;
/// after it, every host's tree is compared with today's (names, sizes and
/// modification times of every file).
public struct SyncBenchmark: ProgramBenchmark {
    @Option(name: .customLong("hosts"), parsing: .upToNextOption, help: "Host counts (destinations; one more host holds the trees).")
    var hostCounts: [Int] = [8]
    @Option(help: "Files in the tree (1 to 32 KiB each).") var files = 10_000
    @Option(help: "Share of the files that changed, in percent.") var changedPercent: Double = 5
    @Option(name: .customLong("repeat"), help: "Runs per point (the median is kept).") var repetitions = 1
    @OptionGroup var output: HostBenchOutput

    /// Per mille of the files that change between the two trees.
    var changedPerMille: Int { Int(changedPercent * 10) }

    /// The tools, in the order they take turns: `trellis sync` over ssh and
    /// through agents, an `rsync -a` loop, a parallel rsync (`xargs -P`), and the
    /// rsync loop over ssh connections kept open.
    public static let tools = ["trellis", "trellis-agents", "rsync-loop", "rsync-parallel", "rsync-loop-mux"]
    /// `changed`: bringing yesterday's copies up to today's tree; `nothing`: the same again, with
    /// nothing left to do.
    public static let scenarios = ["changed", "nothing"]

    /// Every host count, with the default tree.
    public init() {}

    /// Refuses host counts outside 1 to 64, no runs, a tree under 100 files, or a share outside (0, 100].
    public func validate() throws {
        guard hostCounts.allSatisfy({ (1...64).contains($0) }), repetitions >= 1, files >= 100, changedPercent > 0, changedPercent <= 100 else {
            throw ValidationError("host counts are 1 to 64; --repeat at least 1; --files at least 100; --changed-percent above 0, at most 100")
        }
    }

    /// Makes the namespace hosts and the trees, times every tool in turn in
    /// both scenarios, checks every host's tree after each run, and prints a
    /// `ToolTiming` per tool, scenario and point and `ToolSpeedup` lines as JSON
    /// (on a terminal without --json a table, with --plot an SVG). Throws `notSupported`
    /// where namespace hosts cannot be made or rsync is missing, and
    /// `launchFailed` when a tool fails or leaves a host different.
    public func run(executable trellisExecutable: String) throws {
        let largest = hostCounts.max() ?? 1
        let missing = missingPrograms(["rsync", "ssh", "xargs"])
        let cluster = try NamespaceCluster.forBenchmark(
            "sync", count: largest + 1, prefix: "ty", comparesWith: "rsync over ssh", missing: missing.isEmpty ? nil : missing.joined(separator: ", ") + " missing"
        ) { progress("making \(largest + 1) namespace hosts with their sshds (the first holds the trees)") }
        defer { cluster.tearDown() }
        let old = cluster.folder + "/yesterday"
        let new = cluster.folder + "/today"
        progress("writing \(files) files, then today's tree with \(changedPerMille / 10) % of them changed")
        try makeTrees(old: old, new: new)
        let expected = try CommandRunner.run(["sh", "-c", Self.fingerprint, "fingerprint", new], timeoutSeconds: 300).output
        progress("starting an agent on each host and an ssh master connection to each")
        try cluster.startAgents(trellis: trellisExecutable)
        defer { cluster.stopAgents(trellis: trellisExecutable) }
        for name in cluster.hosts.map(\.name).dropFirst() {
            _ = try cluster.runAsUser(on: 0, ["sh", "-c", "\(multiplexedSSH(cluster)) \(name) true"], timeoutSeconds: 60)
        }
        var records: [ToolTiming] = []
        let trials = ToolTrials(tools: Self.tools, repetitions: repetitions)
        for hosts in hostCounts {
            let byScenario = try trials.medians { tool, repetition in
                let destination = cluster.localFolder + "/synced"
                progress("\(tool): yesterday's copy back on \(hosts) hosts, then today's (\(repetition + 1)/\(repetitions))")
                for host in 1...hosts {
                    _ = try cluster.run(on: host, ["sh", "-c", "rm -rf \(destination) && cp -a \(old) \(destination)"], timeoutSeconds: 600)
                }
                var seconds: [String: Double] = [:]
                for scenario in Self.scenarios {
                    seconds[scenario] = try time(tool, trellisExecutable, source: new, destination: destination, hosts: Array(1...hosts), on: cluster)
                    for host in 1...hosts {
                        let found = try cluster.run(on: host, ["sh", "-c", Self.fingerprint, "fingerprint", destination], timeoutSeconds: 300).output
                        guard found == expected else {
                            throw TrellisError(.launchFailed, "\(tool) (\(scenario)) left \(cluster.hosts[host].name) different from the source")
                        }
                    }
                }
                return seconds
            }
            for scenario in Self.scenarios {
                let byTool = byScenario[scenario]!
                for tool in Self.tools {
                    let record = ToolTiming(bench: "sync", scenario: scenario, tool: tool, hosts: hosts, seconds: byTool[tool]!)
                    record.printLine()
                    records.append(record)
                }
                for line in ToolSpeedup.lines(
                    bench: "sync", scenario: scenario, hosts: hosts, medians: byTool, tools: ["trellis", "trellis-agents"],
                    baselines: ["rsync-loop", "rsync-parallel", "rsync-loop-mux"])
                {
                    line.printLine()
                }
            }
        }
        if !output.json { print(Self.table(records)) }
        if let plotPath = output.plot {
            try SeriesPlot(
                title: "\(files) files, \(changedPerMille / 10) % changed, to N hosts: trellis sync (ssh, agents), rsync loop (ssh, kept ssh), parallel rsync",
                xLabel: "hosts", yLabel: "seconds until every host is identical",
                series: Dictionary(grouping: records) { "\($0.tool) (\($0.scenario == "changed" ? "changed" : "nothing to do"))" }
                    .mapValues { $0.map { (Double($0.hosts), $0.seconds) } }
            ).write(to: plotPath)
            progress("plot written to \(plotPath)")
        }
    }

    /// ssh that reuses one master connection per host (opened before the timing, kept for a minute after).
    private func multiplexedSSH(_ cluster: NamespaceCluster) -> String {
        "ssh -F \(cluster.sshConfig) -o ControlMaster=auto -o ControlPath=\(cluster.folder)/mux-%h -o ControlPersist=600"
    }

    /// Names, sizes and modification times of every file under a folder, hashed.
    static let fingerprint = "cd \"$1\" && find . -type f -printf '%s %T@ %p\\n' | sort | sha256sum"

    /// Yesterday's tree: files of 1 to 32 KiB in directories of a hundred;
    /// today's: the same, with every twentieth (by default) file rewritten.
    private func makeTrees(old: String, new: String) throws {
        var generator = SeededGenerator(seed: 9)
        let yesterday = 1_700_000_000
        for index in 0..<files {
            let directory = "/d\(index / 100)"
            if index % 100 == 0 {
                try FileManager.default.createDirectory(atPath: old + directory, withIntermediateDirectories: true)
            }
            let size = Int.random(in: 1024...32768, using: &generator)
            let path = old + directory + "/f\(index)"
            try Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: path))
            var times = [timespec(tv_sec: yesterday, tv_nsec: 0), timespec(tv_sec: yesterday + index, tv_nsec: 0)]
            utimensat(AT_FDCWD, path, &times, 0)
        }
        _ = try CommandRunner.run(["cp", "-a", old, new], timeoutSeconds: 600)
        let step = max(1, 1000 / max(1, changedPerMille))
        for index in stride(from: 0, to: files, by: step) {
            let path = new + "/d\(index / 100)/f\(index)"
            let size = Int.random(in: 1024...32768, using: &generator)
            try Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: path))
        }
    }

    /// Seconds for one tool to make the hosts' `destination` identical to `source`.
    private func time(_ tool: String, _ trellisExecutable: String, source: String, destination: String, hosts: [Int], on cluster: NamespaceCluster) throws -> Double {
        let names = hosts.map { cluster.hosts[$0].name }
        let ssh = "ssh -F \(cluster.sshConfig)"
        let invocation: [String]
        switch tool {
        case "trellis":
            invocation = [trellisExecutable, "sync", "--hosts", names.joined(separator: ","), "--ssh", ssh, source, "--to", destination]
        case "trellis-agents":
            invocation = [trellisExecutable, "sync", "--hosts", names.joined(separator: ","), "--launcher", "agents", source, "--to", destination]
        case "rsync-loop":
            invocation = ["sh", "-c", "for h in \(names.joined(separator: " ")); do rsync -a -e '\(ssh)' \(source)/ $h:\(destination)/ || exit 1; done"]
        case "rsync-loop-mux":
            invocation = ["sh", "-c", "for h in \(names.joined(separator: " ")); do rsync -a -e '\(multiplexedSSH(cluster))' \(source)/ $h:\(destination)/ || exit 1; done"]
        default:
            invocation = ["sh", "-c", "printf '%s\\n' \(names.joined(separator: " ")) | xargs -P \(names.count) -I{} rsync -a -e '\(ssh)' \(source)/ {}:\(destination)/"]
        }
        let (outcome, elapsed) = try timed { try cluster.runAsUser(on: 0, invocation, environment: cluster.agentEnvironment, timeoutSeconds: 1800) }
        guard outcome.status == 0 else {
            throw TrellisError(.launchFailed, "\(tool) to \(hosts.count) hosts exited \(outcome.status): \(outcome.combined.suffix(1500))")
        }
        return elapsed
    }

    static func table(_ records: [ToolTiming]) -> String {
        var table = TextTable([
            "scenario", "hosts", "trellis s", "agents s", "rsync loop s", "parallel rsync s", "loop, kept ssh s", "x loop", "x parallel", "agents x loop",
            "agents x kept ssh",
        ])
        for (record, seconds) in ToolTiming.points(records) {
            let (agents, loop) = (seconds("trellis-agents"), seconds("rsync-loop"))
            table.append([
                record.scenario, String(record.hosts), format(record.seconds, 2), format(agents, 2), format(loop, 2), format(seconds("rsync-parallel"), 2),
                format(seconds("rsync-loop-mux"), 2), format(loop / record.seconds, 1), format(seconds("rsync-parallel") / record.seconds, 1),
                format(loop / agents, 1), format(seconds("rsync-loop-mux") / agents, 1),
            ])
        }
        return table.text
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench sync: \(text)...")
    }
}
