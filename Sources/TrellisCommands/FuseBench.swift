import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench fuse`: the mount against the native client and local
/// disk in the same run (`FuseBenchmark`).
struct FuseBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuse",
        abstract: "Throughput and metadata rates through the FUSE mount, against the native client and local disk in the same run.",
        discussion: """
            Starts a file system of --servers servers with a mount (`trellis up --mount`) under a temporary folder, unless \
            --mount names a Trellis mount that exists. Phases: sequential write (then fsync) and read of --mib MiB in \
            --block-kib KiB blocks, --random-reads reads of 4 KiB at random offsets of that file, and creating, stat-ing \
            and removing --files empty files in one directory. Each phase runs --trials times, the three places taking \
            turns, and the median rate is printed. Reads start from cold client caches (posix_fadvise DONTNEED); the \
            servers' own page caches stay warm. Prints one JSON object per phase with each place's rate and the mount's \
            rate over the native client's and local disk's (ratio_vs), then a line with the targets: the mount at 0.7x the native client or \
            better for sequential 1 MiB I/O, and 1,500 creates/s or more.
            """)

    @Option(help: "Servers of the file system it starts.") var servers = 4
    @Option(help: "MiB written and read sequentially.") var mib = 1024
    @Option(help: "KiB per sequential read or write.") var blockKib = 1024
    @Option(help: "Random 4 KiB reads.") var randomReads = 4096
    @Option(help: "Empty files created, stat-ed and removed in one directory.") var files = 3000
    @Option(help: "Runs of every phase; each rate printed is the median of its runs.") var trials = 3
    @Option(help: "Threads that share the create, stat and remove phases (mdtest's tasks), in every place.") var threads = 4
    @Option(help: "A Trellis mount to measure instead of starting a file system.") var mount: String?
    @Option(name: .customLong("mount-option"), help: "A -o option for the mount it starts (repeatable), e.g. page_cache.") var mountOptions: [String] = []
    @Option(help: "Folder for the file system it starts and for the local-disk files (default: a new one under /tmp).") var data: String?

    func validate() throws {
        do { try makeBenchmark().validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        TrellisCommand.bootstrapLogging()
        try makeBenchmark().run()
    }

    private func makeBenchmark() -> FuseBenchmark {
        var benchmark = FuseBenchmark(executable: currentExecutablePath())
        benchmark.servers = servers
        benchmark.mib = mib
        benchmark.blockKib = blockKib
        benchmark.randomReads = randomReads
        benchmark.files = files
        benchmark.trials = trials
        benchmark.threads = threads
        benchmark.mount = mount
        benchmark.mountOptions = mountOptions
        benchmark.data = data
        return benchmark
    }
}
