import ArgumentParser
import Foundation
import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis bench ior`: IO500's IOR workloads through Trellis's MPI-IO
/// layer, in one run on a file system it starts: `easy` (a file per rank,
/// 1 MiB transfers) and `hard` (47,008-byte records interleaved by rank in
/// one shared file) with collective writes and reads (ROMIO's automatic
/// choice of two-phase collective buffering, and buffering forced) and with
/// independent ones (list I/O per rank), each rate beside the easy workload's. `--via mount` adds the same through the
/// file system's FUSE mount as POSIX files, as an MPI program reaching it
/// through ROMIO's POSIX driver would.
public struct IORBenchmark: ProgramBenchmark {
    /// The defaults: 4 ranks on 4 servers, 64 MiB per rank.
    public init() {}

    @Option(help: "Servers of the file system it starts.") var servers = 4
    @Option(help: "Ranks (client processes) of each job.") var ranks = 4
    @Option(help: "MiB each rank writes and reads in each workload.") var mibPerRank = 64
    @Option(help: "Bytes of one record of the hard workload (IO500's: 47,008).") var recordBytes = 47_008
    @Option(help: "Hard workload: records per call (IO500's IOR: 1).") var recordsPerCall = 16
    @Option(parsing: .upToNextOption, help: "native (the client library), mount (the FUSE mount; root), or both.") var via: [String] = ["native"]
    @Flag(help: "Print only the JSON lines.") var json = false
    @OptionGroup var data: BenchFolder

    public func validate() throws {
        guard servers > 0, ranks > 0, mibPerRank > 0, recordBytes > 0, recordsPerCall > 0 else {
            throw ValidationError("--servers, --ranks, --mib-per-rank, --record-bytes and --records-per-call must be positive")
        }
        guard !via.isEmpty, via.allSatisfy(["native", "mount"].contains) else { throw ValidationError("--via takes native, mount or both") }
    }

    /// One direction of one workload.
    struct Record: BenchmarkRecord {
        /// `ior-easy-write`, `ior-hard-read`, ...
        var bench: String
        /// `collective` (collective buffering where the automatic choice takes it), `collective-buffered` (always), or `independent` (easy: independent).
        var calls: String
        var via: String
        var servers: Int
        var ranks: Int
        var bytes: Int
        var transferBytes: Int
        var seconds: Double
        var mibPerSecond: Double
        /// The rate over the easy workload's in the same direction and run.
        var ratioVsEasy: Double
    }

    public func run(executable: String) throws {
        let site = try data.open("ior")
        defer { site.close() }
        try site.startNameService(executable: executable)
        let mountPoint = via.contains("mount") ? site.folder + "/mnt" : nil
        if let mountPoint { try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true) }
        progress("starting a file system of \(servers) servers")
        let system = try site.startFileSystem(name: "ior", servers: servers, subfolder: "fs", executable: executable, mountPoint: mountPoint)
        let bytesPerRank = mibPerRank << 20
        let hardBytesPerRank = bytesPerRank / (recordBytes * recordsPerCall) * recordBytes * recordsPerCall
        // A first job pays for connections and the servers' first files; an untimed one takes that cost off the easy workload.
        progress("warming the file system up (untimed)")
        _ = try runRanks(executable: executable, fileSystem: system.name, mountPoint: nil, workload: .easy, collective: false,
                         bytesPerRank: 1 << 20, transferBytes: 1 << 20, recordsPerCall: 1)
        var records: [Record] = []
        for way in via {
            let point = way == "mount" ? mountPoint : nil
            var easy: (write: Double, read: Double)?
            let modes: [(IORWorker.Workload, calls: String)] = [(.easy, "independent"), (.hard, "collective"), (.hard, "collective-buffered"), (.hard, "independent")]
            for (workload, calls) in modes {
                let collective = calls != "independent"
                progress("\(workload.rawValue), \(calls), \(way), \(ranks) ranks × \(mibPerRank) MiB")
                let transfer = workload == .easy ? 1 << 20 : recordBytes
                let perCall = workload == .easy ? 1 : recordsPerCall
                let bytes = workload == .easy ? bytesPerRank : hardBytesPerRank
                let times = try runRanks(executable: executable, fileSystem: system.name, mountPoint: point, workload: workload, collective: collective,
                                         bytesPerRank: bytes, transferBytes: transfer, recordsPerCall: perCall, buffering: calls == "collective-buffered" ? "enable" : "automatic")
                let mib = Double(bytes * ranks) / 1_048_576
                let rates = (write: mib / times.write, read: mib / times.read)
                if workload == .easy { easy = rates }
                for (direction, rate) in [("write", rates.write), ("read", rates.read)] {
                    let record = Record(
                        bench: "ior-\(workload.rawValue)-\(direction)", calls: calls, via: way, servers: servers, ranks: ranks, bytes: bytes * ranks,
                        transferBytes: transfer, seconds: rounded(mib / rate, 3), mibPerSecond: rounded(rate, 1),
                        ratioVsEasy: rounded(rate / (direction == "write" ? easy!.write : easy!.read), 3))
                    record.printLine()
                    records.append(record)
                }
            }
        }
        if !json {
            var table = TextTable(["bench", "calls", "via", "ranks", "MiB", "transfer", "MiB/s", "vs easy"])
            for record in records {
                table.append([
                    record.bench, record.calls, record.via, String(record.ranks), String(record.bytes >> 20), String(record.transferBytes),
                    format(record.mibPerSecond, 1), format(record.ratioVsEasy, 2),
                ])
            }
            print("\n(IO500's IOR easy and hard workloads through Trellis MPI-IO; hard against easy in the same run)\n" + table.text)
        }
    }

    private func runRanks(
        executable: String, fileSystem: String, mountPoint: String?, workload: IORWorker.Workload, collective: Bool, bytesPerRank: Int, transferBytes: Int,
        recordsPerCall: Int, buffering: String = "automatic"
    ) throws -> (write: Double, read: Double) {
        let command = [executable, "run", "-n", String(ranks), executable, "bench", "ior-worker", "--name", fileSystem, "--workload", workload.rawValue,
                       "--bytes-per-rank", String(bytesPerRank), "--transfer-bytes", String(transferBytes), "--records-per-call", String(recordsPerCall)]
            + (collective ? ["--collective", "--buffering", buffering] : []) + (mountPoint.map { ["--mount-point", $0] } ?? [])
        let outcome = try CommandRunner.run(command, environment: ProcessEnvironment.current(), timeoutSeconds: 1800)
        for line in outcome.output.split(separator: "\n") where line.hasPrefix("ior-worker ") {
            let words = line.split(separator: " ").compactMap { Double($0) }
            if words.count == 2 { return (words[0], words[1]) }
        }
        throw BenchmarkFailure("the \(ranks) ranks of the \(workload.rawValue) workload reported no times (exit \(outcome.status)): \(outcome.errors.suffix(600))")
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench ior: \(text)")
    }
}
