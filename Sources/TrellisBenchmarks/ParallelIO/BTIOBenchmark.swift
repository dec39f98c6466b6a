import ArgumentParser
import Foundation
import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis bench btio`: the NAS BT-IO access pattern (a cube of 40-byte
/// points block-distributed over a 3-D process grid, appended at every
/// output step by one collective write through a subarray view), as the
/// PVFS2 and ROMIO papers measured it, in one run on a file system it
/// starts and mounts: Trellis's MPI-IO layer through the client library,
/// MPICH's MPI-IO (ROMIO) over the file system's FUSE mount, and Trellis's
/// MPI-IO over the same mount (which separates the layer from the path).
public struct BTIOBenchmark: ProgramBenchmark {
    /// The defaults: 4 ranks on 4 servers, a 64³ cube (NAS class A), 5 steps.
    public init() {}

    @Option(help: "Servers of the file system it starts.") var servers = 4
    @Option(help: "Ranks of each job.") var ranks = 4
    @Option(help: "Points along each side of the cube (NAS class A: 64, B: 102, C: 162).") var grid = 64
    @Option(help: "Output steps, each one cube appended to the file (NAS: 40 time steps, one output every 5).") var steps = 5
    @Option(
        parsing: .upToNextOption,
        help: "trellis (Trellis MPI-IO, client library), romio (MPICH's MPI-IO over the FUSE mount), trellis-mount (Trellis MPI-IO over the mount); any of them.")
    var implementations: [String] = ["trellis", "romio", "trellis-mount"]
    @Flag(help: "Print only the JSON lines.") var json = false
    @OptionGroup var data: BenchFolder

    public func validate() throws {
        guard servers > 0, ranks > 0, grid > 0, steps > 0 else { throw ValidationError("--servers, --ranks, --grid and --steps must be positive") }
        guard grid >= 3, BTIOWorker.processGrid(ranks).allSatisfy({ $0 <= grid }) else { throw ValidationError("--grid must give every rank a block") }
        guard !implementations.isEmpty, implementations.allSatisfy(["trellis", "romio", "trellis-mount"].contains) else {
            throw ValidationError("--implementations takes trellis, romio and trellis-mount")
        }
    }

    /// One direction of one implementation.
    struct Record: BenchmarkRecord {
        /// `btio-write` or `btio-read`.
        var bench: String
        var implementation: String
        var servers: Int
        var ranks: Int
        var grid: Int
        var steps: Int
        var bytes: Int
        var seconds: Double
        var mibPerSecond: Double
        /// The rate over ROMIO's in the same direction and run (when it ran).
        var ratioVsRomio: Double?
    }

    public func run(executable: String) throws {
        let needsMount = implementations.contains { $0 != "trellis" }
        var program: String?
        if implementations.contains("romio") { program = try Comparison.buildMPIProgram("btio") { progress($0) } }
        let site = try data.open("btio")
        defer { site.close() }
        try site.startNameService(executable: executable)
        let mountPoint = needsMount ? site.folder + "/mnt" : nil
        if let mountPoint { try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true) }
        progress("starting a file system of \(servers) servers\(needsMount ? ", mounted" : "")")
        let system: TemporaryFileSystem
        do {
            system = try site.startFileSystem(name: "btio", servers: servers, subfolder: "fs", executable: executable, mountPoint: mountPoint)
        } catch where mountPoint != nil {
            throw BenchmarkFailure("cannot mount the file system for romio and trellis-mount (they need root and /dev/fuse; --implementations trellis runs without): \(error)")
        }
        let bytes = grid * grid * grid * BTIOWorker.pointBytes * steps
        var measured: [(String, write: Double, read: Double)] = []
        // A first job pays for connections and the servers' first files: an untimed one goes first.
        for implementation in ["warm-up"] + implementations {
            progress("\(implementation): \(ranks) ranks, \(grid)³ points, \(steps) steps (\(bytes >> 20) MiB)")
            let command: [String]
            switch implementation {
            case "romio": command = [program!, mountPoint! + "/btio-romio.dat", String(grid), String(steps)]
            case "warm-up": command = [executable, "bench", "btio-worker", "--name", system.name, "--grid", String(grid), "--steps", "1"]
            default:
                command = [executable, "bench", "btio-worker", "--name", system.name, "--grid", String(grid), "--steps", String(steps)]
                    + (implementation == "trellis-mount" ? ["--mount-point", mountPoint!] : [])
            }
            let outcome = try CommandRunner.run([executable, "run", "-n", String(ranks)] + command, environment: ProcessEnvironment.current(), timeoutSeconds: 1800)
            guard let line = outcome.output.split(separator: "\n").first(where: { $0.hasPrefix("btio ") }),
                case let times = line.split(separator: " ").compactMap({ Double($0) }), times.count == 2
            else {
                throw BenchmarkFailure("\(implementation) reported no times (exit \(outcome.status)): \(outcome.combined.suffix(800))")
            }
            if implementation == "romio" { unlink(mountPoint! + "/btio-romio.dat") }
            if implementation != "warm-up" { measured.append((implementation, times[0], times[1])) }
        }
        let romio = measured.first { $0.0 == "romio" }
        let mib = Double(bytes) / 1_048_576
        var records: [Record] = []
        for (implementation, write, read) in measured {
            for (direction, seconds, romioSeconds) in [("write", write, romio?.write), ("read", read, romio?.read)] {
                let record = Record(
                    bench: "btio-\(direction)", implementation: implementation, servers: servers, ranks: ranks, grid: grid, steps: steps, bytes: bytes,
                    seconds: rounded(seconds, 3), mibPerSecond: rounded(mib / seconds, 1), ratioVsRomio: romioSeconds.map { rounded($0 / seconds, 3) })
                record.printLine()
                records.append(record)
            }
        }
        if !json {
            var table = TextTable(["bench", "implementation", "ranks", "grid", "steps", "MiB", "seconds", "MiB/s", "vs ROMIO"])
            for record in records {
                table.append([
                    record.bench, record.implementation, String(record.ranks), String(record.grid), String(record.steps), String(record.bytes >> 20),
                    format(record.seconds, 3), format(record.mibPerSecond, 1), record.ratioVsRomio.map { format($0, 2) } ?? "-",
                ])
            }
            print("\n(the NAS BT-IO pattern: one collective write per output step through a subarray view; ROMIO is MPICH's MPI-IO over the FUSE mount)\n" + table.text)
        }
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench btio: \(text)")
    }
}
