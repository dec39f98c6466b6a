import ArgumentParser
import TrellisBenchmarks
import TrellisCore
import TrellisRuntime
import TrellisRunCommand
import TrellisSystem

/// `trellis bench ...`: the benchmarks that ship with Trellis.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Trellis, and MPICH side by side.",
        subcommands: [PingPongBench.self, BroadcastBench.self, AllreduceBench.self, NIOPingPongBench.self, CompareBench.self, LimitsBench.self, FileSystemBench.self, AggregateBench.self, MetadataBench.self, MetadataBenchWorker.self, FuseBench.self, LaunchBench.self, ExecBench.self, StageBench.self, SyncBench.self])
}

struct BenchSizes: ParsableArguments {
    @Option(name: .long, parsing: .upToNextOption, help: "Message sizes in bytes.")
    var bytes: [Int] = []

    /// The sizes given, or `defaults` when none were.
    func or(_ defaults: [Int]) -> [Int] { bytes.isEmpty ? defaults : bytes }
}

/// A benchmark that declares its own options (`ProgramBenchmark`) and starts
/// what it measures with this program: fs, aggregate, meta, fuse.
protocol ProgramBenchmarkCommand: ParsableCommand {
    associatedtype Benchmark: ProgramBenchmark
    var benchmark: Benchmark { get }
}

extension ProgramBenchmarkCommand {
    func run() throws {
        TrellisCommand.bootstrapLogging()
        try benchmark.run(executable: currentExecutablePath())
    }
}

/// How the benchmarks of tools over namespace hosts (exec, stage, sync) end:
/// JSON lines and a table, or the JSON lines alone; and where they plot.
struct HostBenchOutput: ParsableArguments {
    @Option(help: "Write an SVG plot of time against hosts here (bench stage: one per workload, FILE-large.svg and FILE-small.svg).")
    var plot: String?

    @Flag(help: "Print only the JSON lines.")
    var json = false
}

/// A message-passing benchmark run by every rank of a job (under `trellis
/// run`); rank 0 prints the records.
protocol RankBenchmarkCommand: ParsableCommand {
    var sizes: BenchSizes { get }
    static var defaultSizes: [Int] { get }
    static func measure(_ world: Communicator, _ sizes: [Int]) throws -> [MessagingRecord]
}

extension RankBenchmarkCommand {
    func run() throws {
        TrellisCommand.bootstrapLogging()
        let runtime = try Runtime.initialize()
        for record in try Self.measure(runtime.world, sizes.or(Self.defaultSizes)) { record.printLine() }
        try runtime.finalize()
    }
}

struct PingPongBench: RankBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "pingpong", abstract: "Latency and bandwidth between ranks 0 and 1 (run under trellis run -n 2).")
    @OptionGroup var sizes: BenchSizes
    static let defaultSizes = RuntimeBenchmarks.defaultPingPongSizes
    static func measure(_ world: Communicator, _ sizes: [Int]) throws -> [MessagingRecord] { try RuntimeBenchmarks.pingPong(world: world, sizes: sizes) }
}

struct BroadcastBench: RankBenchmarkCommand {
    static let configuration = CommandConfiguration(commandName: "bcast", abstract: "Broadcast from rank 0 (run under trellis run -n 4).")
    @OptionGroup var sizes: BenchSizes
    static let defaultSizes = RuntimeBenchmarks.defaultBroadcastSizes
    static func measure(_ world: Communicator, _ sizes: [Int]) throws -> [MessagingRecord] { try RuntimeBenchmarks.broadcast(world: world, sizes: sizes) }
}

struct AllreduceBench: RankBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce", abstract: "Allreduce (sum of doubles) over all ranks (run under trellis run -n 4).")
    @OptionGroup var sizes: BenchSizes
    static let defaultSizes = RuntimeBenchmarks.defaultAllreduceSizes
    static func measure(_ world: Communicator, _ sizes: [Int]) throws -> [MessagingRecord] { try RuntimeBenchmarks.allreduce(world: world, sizes: sizes) }
}

struct NIOPingPongBench: RankBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "nio-pingpong",
        abstract: "The ping-pong over a plain SwiftNIO connection, for the transport decision (run under trellis run -n 2).")
    @OptionGroup var sizes: BenchSizes
    static let defaultSizes = RuntimeBenchmarks.defaultPingPongSizes
    static func measure(_ world: Communicator, _ sizes: [Int]) throws -> [MessagingRecord] { try NIOPingPong.run(world: world, sizes: sizes) }
}

struct CompareBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Run Trellis and MPICH (over TCP and over shared memory) in one run and print ratios.")
    @Option(help: "Seconds each MPICH run may take before it is stopped (MPICH sometimes hangs in MPI_Finalize).")
    var mpichTimeoutSeconds: Double = 400
    @Flag(help: "Print only the JSON lines.")
    var json = false

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let comparison = Comparison(trellisExecutable: trellisProgram(), mpichTimeoutSeconds: mpichTimeoutSeconds)
        try comparison.run(printTable: !json)
    }
}

struct LaunchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Time trellis run and MPICH's mpiexec bringing a job up and down over namespace hosts (needs root).",
        discussion: """
            Makes the largest number of hosts asked for as network namespaces with their own
            sshd, then starts a trivial MPICH program over the first N of them with each
            launcher in turn, from the first host. Prints one JSON line per launcher and size
            (medians of --repeat runs: ms to every rank past MPI_Init, ms to the launcher's
            exit, and the messages trellis run itself handled), a ratio line per size, and a table.
            """)

    @Option(parsing: .upToNextOption, help: "Host counts.")
    var hosts: [Int] = [1, 2, 4, 8, 16]

    @Option(parsing: .upToNextOption, help: "Ranks per host.")
    var ppn: [Int] = [1, 4]

    @Option(help: "Runs per point (the median is kept).")
    var `repeat`: Int = 3

    @Option(help: "Children per node of trellis run's proxy tree.")
    var fanout: Int = 8

    @Flag(help: "Print only the JSON lines.")
    var json = false

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard hosts.allSatisfy({ (1...250).contains($0) }), ppn.allSatisfy({ $0 >= 1 }), `repeat` >= 1 else {
            throw ValidationError("host counts are 1 to 250, ranks per host and --repeat at least 1")
        }
        try LaunchBenchmark(trellisExecutable: trellisProgram(), hostCounts: hosts, ranksPerHost: ppn, repetitions: `repeat`, fanout: fanout)
            .run(printTable: !json)
    }
}

struct ExecBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Time trellis exec, pdsh and clush running one command on namespace hosts (needs root, pdsh and clustershell).",
        discussion: """
            Makes the largest number of hosts asked for as network namespaces with their own
            sshd, then runs each command on the first N of them with trellis exec, pdsh -R ssh
            and clush -b in turn, from the first host, checking every host's answer. Prints one
            JSON line per tool, command and size (the median of --repeat runs), a ratio line
            per size, a table, and with --plot an SVG of time against hosts.
            """)

    @Option(parsing: .upToNextOption, help: "Host counts.")
    var hosts: [Int] = [1, 2, 4, 8, 16]

    @Option(parsing: .upToNextOption, help: "Commands to run on every host.")
    var commands: [String] = ["true", "hostname"]

    @Option(help: "Runs per point (the median is kept).")
    var `repeat`: Int = 5

    @OptionGroup var output: HostBenchOutput

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard hosts.allSatisfy({ (1...250).contains($0) }), `repeat` >= 1, !commands.isEmpty else {
            throw ValidationError("host counts are 1 to 250, --repeat at least 1, and at least one command")
        }
        try ExecBenchmark(trellisExecutable: trellisProgram(), hostCounts: hosts, commands: commands, repetitions: `repeat`)
            .run(printTable: !output.json, plotPath: output.plot)
    }
}

struct StageBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Time trellis stage against a sequential ssh loop, pdcp and clush --copy on namespace hosts (needs root, pdsh and clustershell).",
        discussion: """
            Makes one namespace host for the sources and as many more as the largest count
            asked for, each with its own sshd and node-local disk (tmpfs). For each workload
            (a large file; a tree of small files) and host count, puts the sources on the
            first N hosts with trellis stage, a loop of `tar | ssh` one host after another,
            pdcp -R ssh and clush --copy, taking turns, from the source host; then counts
            every host's files and bytes. Prints one JSON line per tool and point (the median
            of --repeat runs), a speed-up line per point, a table, and with --plot an SVG of
            time against hosts per workload (FILE-large.svg, FILE-small.svg).
            """)

    @Option(parsing: .upToNextOption, help: "Host counts (destinations; one more host holds the sources).")
    var hosts: [Int] = [2, 4, 8]

    @Option(parsing: .upToNextOption, help: "Workloads: large (one file), small (a tree of small files).")
    var workloads: [String] = ["large", "small"]

    @Option(help: "MiB of the large file.")
    var largeMib: Int = 1024

    @Option(help: "Files in the small-file tree (1 to 8 KiB each).")
    var smallFiles: Int = 10_000

    @Option(help: "Limit each host's link to this many Mbit/s (tc tbf), as hosts with network cards of their own have.")
    var linkMbit: Int?

    @Option(help: "Runs per point (the median is kept).")
    var `repeat`: Int = 1

    @OptionGroup var output: HostBenchOutput

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard hosts.allSatisfy({ (1...64).contains($0) }), `repeat` >= 1, largeMib >= 1, smallFiles >= 1 else {
            throw ValidationError("host counts are 1 to 64; --repeat, --large-mib and --small-files at least 1")
        }
        let chosen = try workloads.map { name in
            guard let workload = StageBenchmark.Workload(rawValue: name) else { throw ValidationError("workloads are large and small, not \(name)") }
            return workload
        }
        var benchmark = StageBenchmark(
            trellisExecutable: trellisProgram(), hostCounts: hosts, workloads: chosen, repetitions: `repeat`)
        benchmark.largeBytes = largeMib << 20
        benchmark.smallFiles = smallFiles
        if let linkMbit {
            guard linkMbit >= 1 else { throw ValidationError("--link-mbit takes a positive number") }
            benchmark.linkMegabits = linkMbit
        }
        try benchmark.run(printTable: !output.json, plotPath: output.plot)
    }
}

struct SyncBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Time trellis sync against an rsync -a loop over ssh and a parallel rsync (xargs -P) on namespace hosts (needs root and rsync).",
        discussion: """
            Makes one namespace host for the trees and as many more as the largest count asked
            for, each with its own sshd and node-local disk. Every host gets yesterday's copy
            of a tree of small files; each tool then brings the first N hosts up to today's
            tree (--changed-percent of the files rewritten), then runs again with nothing to
            do, taking turns; every host's tree is compared with today's after each run.
            Prints one JSON line per tool, scenario and point (the median of --repeat runs),
            a speed-up line, a table, and with --plot an SVG of time against hosts.
            """)

    @Option(parsing: .upToNextOption, help: "Host counts (destinations; one more host holds the trees).")
    var hosts: [Int] = [8]

    @Option(help: "Files in the tree (1 to 32 KiB each).")
    var files: Int = 10_000

    @Option(help: "Share of the files that changed, in percent.")
    var changedPercent: Double = 5

    @Option(help: "Runs per point (the median is kept).")
    var `repeat`: Int = 1

    @OptionGroup var output: HostBenchOutput

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard hosts.allSatisfy({ (1...64).contains($0) }), `repeat` >= 1, files >= 100, changedPercent > 0, changedPercent <= 100 else {
            throw ValidationError("host counts are 1 to 64; --repeat at least 1; --files at least 100; --changed-percent above 0, at most 100")
        }
        var benchmark = SyncBenchmark(trellisExecutable: trellisProgram(), hostCounts: hosts, repetitions: `repeat`)
        benchmark.files = files
        benchmark.changedPerMille = Int(changedPercent * 10)
        try benchmark.run(printTable: !output.json, plotPath: output.plot)
    }
}
