import ArgumentParser
import Foundation
import TrellisCore
import TrellisLauncher

/// `trellis bench launch`: how long `trellis run` takes to bring a job up
/// and down over N hosts, against MPICH's Hydra (`mpiexec.mpich` with its
/// ssh launcher) over the same namespace hosts in the same run. Both start
/// the same trivial MPICH program on the first host as a logged-in user
/// would; each rank prints the wall clock after MPI_Init. Measured: start
/// to every rank initialized ("ready"), start to the launcher's exit
/// ("end"), and the messages `trellis run` itself handled.
public struct LaunchBenchmark: ProgramBenchmark {
    @Option(name: .customLong("hosts"), parsing: .upToNextOption, help: "Host counts (as many namespace hosts as the largest are made).")
    var hostCounts: [Int] = [1, 2, 4, 8, 16]
    @Option(name: .customLong("ppn"), parsing: .upToNextOption, help: "Ranks per host, each measured at every host count.")
    var ranksPerHost: [Int] = [1, 4]
    @Option(name: .customLong("repeat"), help: "Runs per point (the median is kept).") var repetitions = 3
    @Option(help: "Children per node of trellis run's proxy tree.") var fanout = 8
    @Flag(help: "Print only the JSON lines.") var json = false

    /// Every pair of host count and ranks per host, at the defaults.
    public init() {}

    /// Refuses host counts outside 1 to 250 and ranks per host or runs below 1.
    public func validate() throws {
        guard hostCounts.allSatisfy({ (1...250).contains($0) }), ranksPerHost.allSatisfy({ $0 >= 1 }), repetitions >= 1 else {
            throw ValidationError("host counts are 1 to 250, ranks per host and --repeat at least 1")
        }
    }

    /// One launch, or the median of several.
    public struct Record: BenchmarkRecord {
        /// Always `launch`.
        public var bench = "launch"
        /// `trellis` or `hydra`.
        public var launcher: String
        /// Hosts the job ran on.
        public var hosts: Int
        /// Ranks started on each host.
        public var ranksPerHost: Int
        /// Ranks in the job, all hosts together.
        public var ranks: Int
        /// From the start to every rank past MPI_Init.
        public var readyMilliseconds: Double
        /// From the start to the launcher's exit.
        public var endMilliseconds: Double
        /// Messages the launcher handled (trellis run only).
        public var launcherMessages: Int?
    }

    /// Trellis's times over Hydra's at one point (below 1, Trellis is faster).
    public struct Ratio: BenchmarkRecord {
        /// Always `launch-ratio`.
        public var bench = "launch-ratio"
        /// Hosts the jobs ran on.
        public var hosts: Int
        /// Ranks started on each host.
        public var ranksPerHost: Int
        /// Trellis's `readyMilliseconds` over Hydra's.
        public var readyRatioVsHydra: Double
        /// Trellis's `endMilliseconds` over Hydra's.
        public var endRatioVsHydra: Double
    }

    /// Makes the namespace hosts, launches with both launchers in turn at every
    /// point, and prints each launcher's median `Record` and a `Ratio` as JSON lines
    /// (then, without --json, a table). Blocks for the whole run; throws
    /// `notSupported` where namespace hosts cannot be made or MPICH is missing, and
    /// `launchFailed` when a launch fails or not every rank reports ready.
    public func run(executable trellisExecutable: String) throws {
        let largest = hostCounts.max() ?? 1
        var program = ""
        let cluster = try NamespaceCluster.forBenchmark("launch", count: largest, prefix: "tb") {
            program = try Comparison.buildMPIProgram("mpi_ready") { progress($0) }
            progress("making \(largest) namespace hosts with their sshds")
        }
        defer { cluster.tearDown() }
        var medians: [Record] = []
        for hosts in hostCounts {
            for perHost in ranksPerHost {
                // Interleaved, and in turn first (ABBA): a slow drift of the
                // machine, or the page cache one launcher warms for the other,
                // falls on both alike.
                var runs: [String: [Record]] = [:]
                for repetition in 1...repetitions {
                    for launcher in repetition % 2 == 1 ? ["trellis", "hydra"] : ["hydra", "trellis"] {
                        progress("\(launcher) over \(hosts) host\(hosts == 1 ? "" : "s"), \(perHost) rank\(perHost == 1 ? "" : "s") each (\(repetition)/\(repetitions))")
                        runs[launcher, default: []].append(try launch(launcher, trellisExecutable, program: program, hosts: hosts, perHost: perHost, on: cluster))
                    }
                }
                for launcher in ["trellis", "hydra"] {
                    let median = Self.median(runs[launcher]!)
                    median.printLine()
                    medians.append(median)
                }
                let ours = medians[medians.count - 2]
                let hydra = medians[medians.count - 1]
                Ratio(
                    hosts: hosts, ranksPerHost: perHost, readyRatioVsHydra: rounded(ours.readyMilliseconds / hydra.readyMilliseconds, 3),
                    endRatioVsHydra: rounded(ours.endMilliseconds / hydra.endMilliseconds, 3)
                ).printLine()
            }
        }
        if !json { print(Self.table(medians)) }
    }

    private func launch(_ launcher: String, _ trellisExecutable: String, program: String, hosts: Int, perHost: Int, on cluster: NamespaceCluster) throws -> Record {
        let names = cluster.hosts.prefix(hosts).map(\.name)
        let ranks = hosts * perHost
        let command: [String]
        if launcher == "trellis" {
            command = [
                trellisExecutable, "run", "-n", String(ranks), "--hosts", names.joined(separator: ","), "--ppn", String(perHost),
                "--ssh", "ssh -F \(cluster.sshConfig)", "--fanout", String(fanout), "--statistics", program,
            ]
        } else {
            command = [
                "mpiexec.mpich", "-launcher", "ssh", "-launcher-exec", cluster.sshProgram, "-hosts", names.joined(separator: ","),
                "-ppn", String(perHost), "-n", String(ranks), program,
            ]
        }
        let start = Self.wallClockNanoseconds()
        let outcome = try cluster.runAsUser(on: 0, command, timeoutSeconds: 300)
        let end = Self.wallClockNanoseconds()
        let ready = outcome.output.split(separator: "\n").compactMap { line -> UInt64? in
            let words = line.split(separator: " ")
            return words.count == 3 && words[0] == "ready" ? UInt64(words[2]) : nil
        }
        guard outcome.status == 0, ready.count == ranks else {
            throw TrellisError(.launchFailed, "\(launcher) over \(hosts) hosts failed (exit \(outcome.status), \(ready.count) of \(ranks) ranks ready): \(outcome.combined.suffix(1500))")
        }
        let messages = outcome.errors.split(separator: "\n").lazy.compactMap { line -> Int? in
            guard let range = line.range(of: "the launcher handled ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }.first
        return Record(
            launcher: launcher, hosts: hosts, ranksPerHost: perHost, ranks: ranks, readyMilliseconds: rounded(Double(ready.max()! &- start) / 1e6, 1),
            endMilliseconds: rounded(Double(end &- start) / 1e6, 1), launcherMessages: messages)
    }

    static func median(_ runs: [Record]) -> Record {
        var result = runs[0]
        result.readyMilliseconds = TrellisBenchmarks.median(runs.map(\.readyMilliseconds))
        result.endMilliseconds = TrellisBenchmarks.median(runs.map(\.endMilliseconds))
        result.launcherMessages = runs.compactMap(\.launcherMessages).sorted().dropFirst(runs.count / 2).first
        return result
    }

    static func table(_ records: [Record]) -> String {
        var table = TextTable(["hosts", "ppn", "ranks", "trellis ready/end ms", "hydra ready/end ms", "ratio ready/end", "launcher msgs"])
        for index in stride(from: 0, to: records.count - 1, by: 2) {
            let (ours, hydra) = (records[index], records[index + 1])
            table.append([
                String(ours.hosts), String(ours.ranksPerHost), String(ours.hosts * ours.ranksPerHost),
                "\(format(ours.readyMilliseconds, 0)) / \(format(ours.endMilliseconds, 0))",
                "\(format(hydra.readyMilliseconds, 0)) / \(format(hydra.endMilliseconds, 0))",
                "\(format(ours.readyMilliseconds / hydra.readyMilliseconds, 2)) / \(format(ours.endMilliseconds / hydra.endMilliseconds, 2))",
                ours.launcherMessages.map(String.init) ?? "-",
            ])
        }
        return table.text
    }

    static func wallClockNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench launch: \(text)...")
    }
}
