import ArgumentParser
import TrellisBenchmarks
import TrellisMPIIO
import TrellisRuntime

/// `trellis bench ior`: IO500's IOR easy and hard workloads through Trellis MPI-IO (`IORBenchmark`).
struct IORBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "ior",
        abstract: "IO500's IOR easy (a file per rank, 1 MiB transfers) and hard (47,008-byte records interleaved in one file) workloads through Trellis MPI-IO.",
        discussion: """
            Starts a file system of --servers servers and, for each workload, a job of --ranks ranks (trellis run) that writes \
            then reads --mib-per-rank MiB each: easy with independent calls, hard with collective calls (two-phase collective \
            buffering where ROMIO's automatic choice takes it, and forced), and with independent ones. Prints one JSON object per workload and direction: bench (ior-easy-write, \
            ior-hard-read, ...), calls, via, servers, ranks, bytes, transfer_bytes, seconds, mib_per_second, ratio_vs_easy; then a table.
            """)

    @OptionGroup var benchmark: IORBenchmark
}

/// The rank side (hidden): `trellis bench ior-worker`, every rank of a job `bench ior` starts.
struct IORBenchWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ior-worker", abstract: "One rank of bench ior.", shouldDisplay: false)
    @Option var name: String
    @Option var workload: String
    @Option var bytesPerRank: Int
    @Option var transferBytes: Int
    @Option var recordsPerCall = 1
    @Flag var collective = false
    @Option var buffering = "automatic"
    @Option var mountPoint: String?

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard let workload = IORWorker.Workload(rawValue: workload) else { throw ValidationError("--workload takes easy or hard") }
        let hints = try IOHints(["romio_cb_write": buffering, "romio_cb_read": buffering])
        let runtime = try Runtime.initialize()
        let times = try IORWorker.run(
            runtime: runtime, fileSystem: name, mountPoint: mountPoint, workload: workload, collective: collective, bytesPerRank: bytesPerRank,
            transferBytes: transferBytes, recordsPerCall: recordsPerCall, hints: hints)
        if runtime.world.rank == 0 { print("ior-worker \(times.write) \(times.read)") }
        try runtime.finalize()
    }
}
