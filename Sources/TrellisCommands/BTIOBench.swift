import ArgumentParser
import TrellisBenchmarks
import TrellisRuntime

/// `trellis bench btio`: the NAS BT-IO pattern through Trellis MPI-IO and through ROMIO over the mount (`BTIOBenchmark`).
struct BTIOBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "btio",
        abstract: "The NAS BT-IO pattern (a block-distributed cube appended by collective writes through subarray views), Trellis MPI-IO against ROMIO.",
        discussion: """
            Starts and mounts a file system of --servers servers; for each implementation a job of --ranks ranks writes \
            --steps cubes of --grid³ 40-byte points, then reads them back and checks every byte. trellis: Trellis's MPI-IO \
            layer through the client library; romio: MPICH's MPI-IO over the FUSE mount (compiled with mpicc.mpich); \
            trellis-mount: Trellis's layer over the same mount. Prints one JSON object per implementation and direction: \
            bench (btio-write, btio-read), implementation, servers, ranks, grid, steps, bytes, seconds, mib_per_second, ratio_vs_romio.
            """)

    @OptionGroup var benchmark: BTIOBenchmark
}

/// The rank side (hidden): `trellis bench btio-worker`, every rank of a job `bench btio` starts.
struct BTIOBenchWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "btio-worker", abstract: "One rank of bench btio.", shouldDisplay: false)
    @Option var name: String
    @Option var grid: Int
    @Option var steps: Int
    @Option var mountPoint: String?

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let runtime = try Runtime.initialize()
        let times = try BTIOWorker.run(runtime: runtime, fileSystem: name, mountPoint: mountPoint, grid: grid, steps: steps)
        if runtime.world.rank == 0 { print("btio \(times.write) \(times.read)") }
        try runtime.finalize()
    }
}
