import ArgumentParser
import Foundation
import TrellisCore
import TrellisLauncher

/// `trellis bench stage`: how long `trellis stage` takes to put a large file,
/// and a tree of many small files, on the node-local disks of N namespace
/// hosts, against what admins use instead, in the same run and taking
/// turns: a sequential loop over the hosts (`tar | ssh`, one after the
/// other), pdsh's `pdcp` and ClusterShell's `clush --copy`. Every tool runs
/// from the first host (which holds the sources) to the next N, and every
/// host's copy is counted afterwards, files and bytes, before it is removed.
///
/// One more line, `local-cp`, is no tool but this machine's floor: `cp -a`
/// on each host in turn, straight from the shared folder to its disk, with
/// no network at all. All the hosts share this machine's cores, so every
/// host's writing adds to every tool's time here, as it would not on a
/// cluster of real hosts; the floor shows how much of each time that is.
public struct StageBenchmark: ProgramBenchmark {
    /// What is staged.
    public enum Workload: String, Sendable, CaseIterable, ExpressibleByArgument {
        /// One file of `largeBytes`.
        case large
        /// `smallFiles` files of 1 to 8 KiB in directories of a hundred.
        case small
    }

    @Option(name: .customLong("hosts"), parsing: .upToNextOption, help: "Host counts (destinations; one more host holds the sources).")
    var hostCounts: [Int] = [2, 4, 8]
    @Option(parsing: .upToNextOption, help: "Workloads: large (one file), small (a tree of small files).")
    var workloads: [Workload] = [.large, .small]
    @Option(help: "MiB of the large file.") var largeMib = 1024
    @Option(help: "Files in the small-file tree (1 to 8 KiB each, in directories of a hundred).") var smallFiles = 10_000
    /// Each host's link (its eth0, outgoing) limited by a token bucket: the
    /// network, not this machine's two cores, then bounds every tool.
    @Option(name: .customLong("link-mbit"), help: "Limit each host's link to this many Mbit/s (tc tbf), as hosts with network cards of their own have.")
    var linkMegabits: Int?
    @Option(name: .customLong("repeat"), help: "Runs per point (the median is kept).") var repetitions = 1
    @OptionGroup var output: HostBenchOutput

    /// Size of the large workload's file, in bytes.
    var largeBytes: Int { largeMib << 20 }

    /// The tools, in the order they take turns: `trellis stage`, a sequential
    /// `tar | ssh` loop, `pdcp`, `clush --copy`, and the no-network `cp -a` floor.
    public static let tools = ["trellis", "ssh-loop", "pdcp", "clush", "local-cp"]

    /// Every workload at every host count, at the defaults.
    public init() {}

    /// Refuses host counts outside 1 to 64 and sizes or runs below 1.
    public func validate() throws {
        guard hostCounts.allSatisfy({ (1...64).contains($0) }), repetitions >= 1, largeMib >= 1, smallFiles >= 1 else {
            throw ValidationError("host counts are 1 to 64; --repeat, --large-mib and --small-files at least 1")
        }
        if let linkMegabits, linkMegabits < 1 { throw ValidationError("--link-mbit takes a positive number") }
    }

    /// Why the baselines cannot run here (nil: they can).
    public static var baselinesMissing: String? {
        let missing = missingPrograms(["pdcp", "clush", "tar", "ssh"])
        return missing.isEmpty ? nil : "\(missing.joined(separator: ", ")) missing (Debian packages pdsh, clustershell, tar, openssh-client)"
    }

    /// Makes the namespace hosts, stages each workload with every tool in turn,
    /// checks every host's copy, and prints a `ToolTiming` per tool and point and
    /// `ToolSpeedup` lines as JSON (on a terminal without --json a table, with --plot an
    /// SVG per workload). Throws `notSupported` where namespace hosts cannot be
    /// made, a baseline is missing or the links cannot be limited, and
    /// `launchFailed` when a tool fails or leaves a wrong copy.
    public func run(executable trellisExecutable: String) throws {
        let largest = hostCounts.max() ?? 1
        let cluster = try NamespaceCluster.forBenchmark(
            "stage", count: largest + 1, prefix: "ts", comparesWith: "pdcp, clush and ssh", missing: Self.baselinesMissing
        ) { progress("making \(largest + 1) namespace hosts with their sshds (the first holds the sources)") }
        defer { cluster.tearDown() }
        if let linkMegabits {
            progress("limiting every host's link to \(linkMegabits) Mbit/s")
            for host in cluster.hosts {
                let limited = try CommandRunner.run(
                    ["ip", "netns", "exec", host.name, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "\(linkMegabits)mbit", "burst", "1mb", "latency", "100ms"],
                    timeoutSeconds: 30)
                guard limited.status == 0 else { throw TrellisError(.notSupported, "cannot limit \(host.name)'s link (tc tbf): \(limited.combined)") }
            }
        }
        let sources = cluster.folder + "/sources"
        var records: [ToolTiming] = []
        let trials = ToolTrials(tools: Self.tools, repetitions: repetitions)
        for workload in workloads {
            progress("writing the \(workload == .large ? "\(largeBytes >> 20) MiB file" : "tree of \(smallFiles) files")")
            let (source, files, bytes) = try makeSource(workload, under: sources)
            defer { try? FileManager.default.removeItem(atPath: source) }
            for hosts in hostCounts {
                let byTool = try trials.medians { tool, repetition in
                    progress("\(tool): \(workload.rawValue) to \(hosts) host\(hosts == 1 ? "" : "s") (\(repetition + 1)/\(repetitions))")
                    return [workload.rawValue: try time(tool, trellisExecutable, source: source, files: files, bytes: bytes, hosts: Array(1...hosts), on: cluster)]
                }[workload.rawValue]!
                for tool in Self.tools {
                    let record = ToolTiming(
                        bench: "stage", scenario: workload.rawValue, tool: tool, hosts: hosts, seconds: byTool[tool]!, bytes: bytes, linkMegabits: linkMegabits)
                    record.printLine()
                    records.append(record)
                }
                for line in ToolSpeedup.lines(
                    bench: "stage", scenario: workload.rawValue, hosts: hosts, medians: byTool, tools: ["trellis"], baselines: ["ssh-loop", "pdcp", "clush"])
                {
                    line.printLine()
                }
            }
        }
        if !output.json { print(Self.table(records)) }
        if let plotPath = output.plot {
            for workload in workloads {
                let path = workloads.count == 1 ? plotPath : Self.path(plotPath, suffix: workload.rawValue)
                let chosen = records.filter { $0.scenario == workload.rawValue }
                try SeriesPlot(
                    title: workload == .large
                        ? "A \(largeBytes >> 20) MiB file to N hosts: trellis stage, ssh loop, pdcp, clush --copy (local cp: no network)"
                        : "\(smallFiles) small files to N hosts: trellis stage, ssh loop, pdcp, clush --copy (local cp: no network)",
                    xLabel: "hosts", yLabel: "seconds until every host has it",
                    series: Dictionary(grouping: chosen, by: \.tool).mapValues { $0.map { (Double($0.hosts), $0.seconds) } }
                ).write(to: path)
                progress("plot written to \(path)")
            }
        }
    }

    /// Writes the workload's sources; returns the path to stage, its file count and bytes.
    private func makeSource(_ workload: Workload, under folder: String) throws -> (String, Int, Int64) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var generator = SeededGenerator(seed: 2)
        switch workload {
        case .large:
            let path = folder + "/large.bin"
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw TrellisError(.systemCall, "cannot create \(path)") }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            // Random bytes, so that nothing on the way can shrink them.
            var block = [UInt8](repeating: 0, count: 1 << 20)
            for _ in 0..<(largeBytes >> 20) {
                block.withUnsafeMutableBytes { raw in
                    for offset in stride(from: 0, to: raw.count, by: 8) { raw.storeBytes(of: generator.next(), toByteOffset: offset, as: UInt64.self) }
                }
                try handle.write(contentsOf: block)
            }
            return (path, 1, Int64((largeBytes >> 20) << 20))
        case .small:
            let root = folder + "/small"
            var bytes: Int64 = 0
            for index in 0..<smallFiles {
                let directory = root + "/d\(index / 100)"
                if index % 100 == 0 { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
                let size = Int.random(in: 1024...8192, using: &generator)
                let data = Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
                try data.write(to: URL(fileURLWithPath: directory + "/f\(index)"))
                bytes += Int64(size)
            }
            return (root, smallFiles, bytes)
        }
    }

    /// Seconds for one tool to put `source` on the hosts; throws unless every host then has every file and byte.
    private func time(_ tool: String, _ trellisExecutable: String, source: String, files: Int, bytes: Int64, hosts: [Int], on cluster: NamespaceCluster) throws -> Double {
        let names = hosts.map { cluster.hosts[$0].name }
        let list = names.joined(separator: ",")
        let destination = cluster.localFolder + "/staged-\(tool)"
        // Every tool finds the folder there, as pdcp and clush --copy need it.
        for host in hosts { _ = try cluster.run(on: host, ["mkdir", "-p", destination]) }
        let parent = (source as NSString).deletingLastPathComponent
        let name = (source as NSString).lastPathComponent
        let config = cluster.sshConfig
        let invocation: [String]
        var environment: [String: String] = [:]
        switch tool {
        case "trellis":
            invocation = [trellisExecutable, "stage", "--hosts", list, "--ssh", "ssh -F \(config)", source, "--to", destination]
        case "ssh-loop":
            invocation = ["sh", "-c", "for h in \(names.joined(separator: " ")); do tar -C \(parent) -cf - \(name) | ssh -F \(config) $h tar -C \(destination) -xf - || exit 1; done"]
        case "pdcp":
            invocation = ["pdcp", "-R", "ssh", "-w", list] + (files > 1 ? ["-r"] : []) + [source, destination]
            environment["PDSH_SSH_ARGS_APPEND"] = "-F \(config)"
        case "clush":
            invocation = ["clush", "-S", "-w", list, "-o", "-F \(config)", "--copy", source, "--dest", destination]
        default:
            invocation = []
        }
        let (outcome, elapsed) = try timed { () throws -> CommandRunner.Outcome in
            guard tool == "local-cp" else { return try cluster.runAsUser(on: 0, invocation, environment: environment, timeoutSeconds: 1800) }
            var last: CommandRunner.Outcome?
            for host in hosts {
                last = try cluster.run(on: host, ["cp", "-a", source, destination], timeoutSeconds: 1800)
                if last!.status != 0 { break }
            }
            return last!
        }
        guard outcome.status == 0 else {
            throw TrellisError(.launchFailed, "\(tool) to \(hosts.count) hosts exited \(outcome.status): \(outcome.combined.suffix(1500))")
        }
        for host in hosts {
            let counted = try cluster.run(on: host, ["sh", "-c", "find \(destination) -type f -printf '%s\\n' | awk '{n++; s+=$1} END {print n+0, s+0}'"])
            defer { _ = try? cluster.run(on: host, ["rm", "-rf", destination]) }
            guard counted.output == "\(files) \(bytes)\n" else {
                throw TrellisError(.launchFailed, "\(tool) left \(counted.output.dropLast()) (files, bytes) on \(cluster.hosts[host].name), not \(files) \(bytes)")
            }
        }
        return elapsed
    }

    static func table(_ records: [ToolTiming]) -> String {
        var table = TextTable([
            "workload", "hosts", "trellis s", "ssh loop s", "pdcp s", "clush s", "cp floor s", "trellis MiB/s", "x loop", "x pdcp", "x clush",
        ])
        for (record, seconds) in ToolTiming.points(records) {
            table.append([
                record.scenario, String(record.hosts), format(record.seconds, 2), format(seconds("ssh-loop"), 2), format(seconds("pdcp"), 2),
                format(seconds("clush"), 2), format(seconds("local-cp"), 2), format(record.aggregateMibPerSecond ?? .nan, 0),
                format(seconds("ssh-loop") / record.seconds, 1), format(seconds("pdcp") / record.seconds, 1), format(seconds("clush") / record.seconds, 1),
            ])
        }
        return table.text
    }

    /// `plot.svg` with `suffix`: `plot-large.svg`.
    static func path(_ path: String, suffix: String) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let base = url.deletingPathExtension().path
        return ext.isEmpty ? "\(base)-\(suffix)" : "\(base)-\(suffix).\(ext)"
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench stage: \(text)...")
    }
}
