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
        subcommands: [PingPongBench.self, BroadcastBench.self, AllreduceBench.self, NIOPingPongBench.self, CompareBench.self, LimitsBench.self, FileSystemBench.self, AggregateBench.self, MetadataBench.self, MetadataBenchWorker.self, FailoverBench.self, FuseBench.self, ConcurrentIOBench.self, ConcurrentIOBenchWorker.self, CopyBench.self, IORBench.self, IORBenchWorker.self, BTIOBench.self, BTIOBenchWorker.self, LaunchBench.self, ExecBench.self, StageBench.self, SyncBench.self, HostileBench.self])
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
    /// The `trellis` the benchmark starts: this program, unless it runs on other hosts.
    static var program: String { get }
}

extension ProgramBenchmarkCommand {
    static var program: String { currentExecutablePath() }

    func run() throws {
        TrellisCommand.bootstrapLogging()
        try benchmark.run(executable: Self.program)
    }
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
        commandName: "compare",
        abstract: "Run Trellis and MPICH (over TCP and over shared memory) alternately and print medians with their range, and ratios.")
    @Option(help: "Seconds each MPICH run may take before it is stopped (MPICH sometimes hangs in MPI_Finalize).")
    var mpichTimeoutSeconds: Double = 400
    @Option(help: "How many times each implementation runs, Trellis and MPICH in turn (medians are reported).")
    var pairs: Int = 5
    @Flag(help: "Ping-pong between two namespace hosts instead (Trellis and MPICH over TCP; needs root).")
    var betweenHosts = false
    @Flag(help: "Print only the JSON lines.")
    var json = false

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard pairs >= 1 else { throw ValidationError("--pairs must be at least 1") }
        let comparison = Comparison(trellisExecutable: trellisProgram(), mpichTimeoutSeconds: mpichTimeoutSeconds, pairs: pairs)
        if betweenHosts {
            try comparison.runBetweenHosts(printTable: !json)
        } else {
            try comparison.run(printTable: !json)
        }
    }
}

struct LaunchBench: ProgramBenchmarkCommand {
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

    @OptionGroup var benchmark: LaunchBenchmark
    static var program: String { trellisProgram() }
}

struct ExecBench: ProgramBenchmarkCommand {
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

    @OptionGroup var benchmark: ExecBenchmark
    static var program: String { trellisProgram() }
}

struct StageBench: ProgramBenchmarkCommand {
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

    @OptionGroup var benchmark: StageBenchmark
    static var program: String { trellisProgram() }
}

struct SyncBench: ProgramBenchmarkCommand {
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

    @OptionGroup var benchmark: SyncBenchmark
    static var program: String { trellisProgram() }
}
