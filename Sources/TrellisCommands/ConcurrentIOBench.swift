import ArgumentParser
import TrellisBenchmarks
import TrellisRuntime

/// `trellis bench io`: PVFS's concurrent read/write workload from several
/// client processes, against a local file and a TCP stream (`ConcurrentIOBenchmark`).
struct ConcurrentIOBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "io",
        abstract: "Concurrent writes and reads of one shared file (or a file each) by P client processes, on 1 to N servers (PVFS Figs. 5 and 6).",
        discussion: """
            For each --servers count a file system of that many servers; for each --clients count a job of that many \
            client processes (trellis run), each writing then reading a contiguous region of --mib-per-server × servers MiB. \
            A phase lasts as long as its slowest client. Prints one JSON object per direction and point: bench (io-write, \
            io-read), layout, via (native: the client library; mpiio: Trellis MPI-IO; mount: the FUSE mount), servers, clients, bytes, seconds, mib_per_second, local_file_mib_per_second (the same bytes \
            written with fsync and read back locally), tcp_mib_per_second (the same bytes over one loopback TCP connection), \
            write_vs_local_ratio, read_vs_tcp_ratio; then a table; --plot draws aggregate MiB/s against clients.
            """)

    @OptionGroup var benchmark: ConcurrentIOBenchmark
}

/// The worker side (hidden): `trellis bench io-worker`, every rank of the job that `bench io` starts.
struct ConcurrentIOBenchWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "io-worker", abstract: "One client process of bench io.", shouldDisplay: false)
    @Option var name: String
    @Option var regionBytes: Int
    @Option var chunkBytes: Int
    @Option var layout: String
    @Option var inFlight = 1
    @Option var mountPoint: String?
    @Flag var mpiio = false

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard let layout = ConcurrentIOWorker.Layout(rawValue: layout) else { throw ValidationError("--layout takes shared or per-process") }
        let runtime = try Runtime.initialize()
        let times = try ConcurrentIOWorker.run(
            runtime: runtime, name: name, regionBytes: regionBytes, chunkBytes: chunkBytes, inFlight: inFlight, layout: layout, mountPoint: mountPoint, parallelIO: mpiio)
        if runtime.world.rank == 0 { print("io-worker \(times.writeSeconds) \(times.readSeconds)") }
        try runtime.finalize()
    }
}
