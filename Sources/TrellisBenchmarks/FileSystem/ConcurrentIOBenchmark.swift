import ArgumentParser
import Foundation
import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis bench io`: PVFS's concurrent read/write workload ("PVFS: a
/// parallel file system for Linux clusters", §4.1, Figs. 5 and 6). For each
/// server count it starts a file system; for each client count, a job of
/// that many client processes (`trellis run -n P trellis bench io-worker`)
/// writes, then reads, a contiguous region each (2 MiB × servers by
/// default, as the paper's 2N Mbytes) of one shared file, or of a file
/// each. In the same run, two baselines for the same bytes: a local file
/// written with fsync and read back, and a stream over one loopback TCP
/// connection (the paper measured TCP with ttcp first). The clients go
/// through the client library (`native`) and through the file system's
/// FUSE mount (`mount`: pwrite, fsync, pread), in turn.
public struct ConcurrentIOBenchmark: ProgramBenchmark {
    /// The paper's sweep, at sizes this machine holds.
    public init() {}

    @Option(name: .customLong("servers"), parsing: .upToNextOption, help: "Server counts: a file system of each, one after another.")
    var serverCounts: [Int] = [1, 2, 4]
    @Option(name: .customLong("clients"), parsing: .upToNextOption, help: "Client process counts, each a job of its own.")
    var clientCounts: [Int] = [1, 2, 4]
    @Option(help: "MiB each client writes and reads per server of the file system (the paper's 2N Mbytes: 2).") var mibPerServer = 2
    @Option(help: "KiB per client call.") var chunkKib = 1024
    @Option(help: "Calls each native client keeps on their way at once (write-behind, read-ahead; 1: each waits for the one before).")
    var inFlight = 4
    @Option(parsing: .upToNextOption, help: "shared (one file, disjoint regions), per-process (a file each), or both.")
    var layouts: [String] = ConcurrentIOWorker.Layout.allCases.map(\.rawValue)
    @Option(
        parsing: .upToNextOption,
        help: "How the clients reach the file system: native (the client library), mpiio (Trellis MPI-IO, a collective call per chunk), mount (its FUSE mount; root), or several.")
    var via: [String] = ["native", "mpiio", "mount"]
    @Option(help: "Hosts for the client processes (trellis run --hosts; default: this one).") var hosts: String?
    @Option(help: "Write an SVG plot of aggregate MiB/s against clients, a line per server count and direction, here.") var plot: String?
    @Flag(help: "Print only the JSON lines.") var json = false
    @OptionGroup var data: BenchFolder

    public func validate() throws {
        guard !serverCounts.isEmpty, serverCounts.allSatisfy({ (1...64).contains($0) }) else { throw ValidationError("--servers takes counts from 1 to 64") }
        guard !clientCounts.isEmpty, clientCounts.allSatisfy({ (1...256).contains($0) }) else { throw ValidationError("--clients takes counts from 1 to 256") }
        guard mibPerServer > 0, chunkKib > 0, inFlight > 0 else { throw ValidationError("--mib-per-server, --chunk-kib and --in-flight must be positive") }
        guard !layouts.isEmpty, layouts.allSatisfy({ ConcurrentIOWorker.Layout(rawValue: $0) != nil }) else {
            throw ValidationError("--layouts takes shared, per-process or both")
        }
        guard !via.isEmpty, via.allSatisfy(["native", "mpiio", "mount"].contains) else { throw ValidationError("--via takes native, mpiio, mount or several") }
        guard hosts == nil || !via.contains("mount") else { throw ValidationError("--via mount runs on this host only: the mount is here") }
    }

    /// One direction of one point.
    struct Record: BenchmarkRecord {
        /// `io-write` or `io-read`.
        var bench: String
        var layout: String
        /// `native` (the client library) or `mount` (the FUSE mount).
        var via: String
        var servers: Int
        var clients: Int
        /// Bytes all clients moved together.
        var bytes: Int
        /// The slowest client's seconds.
        var seconds: Double
        /// All clients' bytes over the slowest one's time.
        var mibPerSecond: Double
        /// The same bytes written with fsync and read back, in a local file.
        var localFileMibPerSecond: Double
        /// The same bytes over one loopback TCP connection.
        var tcpMibPerSecond: Double
        /// Writes: Trellis over the local file.
        var writeVsLocalRatio: Double?
        /// Reads: Trellis over the TCP stream.
        var readVsTcpRatio: Double?
    }

    public func run(executable: String) throws {
        let site = try data.open("io")
        defer { site.close() }
        try site.startNameService(executable: executable)
        let chunk = chunkKib << 10
        var baselines: [Int: (local: (write: Double, read: Double), tcp: Double)] = [:]
        var records: [Record] = []
        for servers in serverCounts {
            progress("starting a file system of \(servers) servers")
            let mountPoint = via.contains("mount") ? site.folder + "/mnt\(servers)" : nil
            if let mountPoint { try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true) }
            let system: TemporaryFileSystem
            do {
                system = try site.startFileSystem(name: "io\(servers)", servers: servers, subfolder: "fs\(servers)", executable: executable, mountPoint: mountPoint)
            } catch where mountPoint != nil {
                throw BenchmarkFailure("cannot mount the file system for --via mount (it needs root and /dev/fuse; --via native runs without): \(error)")
            }
            defer { system.stop() }
            let region = (mibPerServer * servers) << 20
            // A first job pays for connections and the servers' first files: an untimed one goes first.
            _ = try runClients(executable: executable, fileSystem: system.name, clients: 1, region: region, chunk: chunk, layout: .perProcess, mountPoint: nil, parallelIO: false)
            for clients in clientCounts {
                for layout in layouts.compactMap(ConcurrentIOWorker.Layout.init(rawValue:)) { for way in via {
                    progress("\(clients) clients, \(layout.rawValue), \(way), \(region >> 20) MiB each, on \(servers) servers")
                    let times = try runClients(
                        executable: executable, fileSystem: system.name, clients: clients, region: region, chunk: chunk, layout: layout,
                        mountPoint: way == "mount" ? mountPoint : nil, parallelIO: way == "mpiio")
                    let total = clients * region
                    if baselines[total] == nil {
                        baselines[total] = (try LocalFileBaseline.seconds(bytes: total, chunkBytes: chunk, path: site.folder + "/io-baseline.dat"), try LoopbackStream.seconds(bytes: total, chunkBytes: chunk))
                    }
                    let baseline = baselines[total]!
                    let mib = Double(total) / 1_048_576
                    let tcpRate = mib / baseline.tcp
                    for (bench, seconds, localSeconds) in [("io-write", times.write, baseline.local.write), ("io-read", times.read, baseline.local.read)] {
                        let rate = mib / seconds
                        let record = Record(
                            bench: bench, layout: layout.rawValue, via: way, servers: servers, clients: clients, bytes: total, seconds: rounded(seconds, 4),
                            mibPerSecond: rounded(rate, 1), localFileMibPerSecond: rounded(mib / localSeconds, 1), tcpMibPerSecond: rounded(tcpRate, 1),
                            writeVsLocalRatio: bench == "io-write" ? rounded(rate / (mib / localSeconds), 3) : nil,
                            readVsTcpRatio: bench == "io-read" ? rounded(rate / tcpRate, 3) : nil)
                        record.printLine()
                        records.append(record)
                    }
                } }
            }
        }
        if !json { print(Self.table(records)) }
        if let plot {
            try SeriesPlot(
                title: "Concurrent writes and reads of \(mibPerServer) MiB × servers per client (PVFS Figs. 5 and 6)",
                xLabel: "client processes", yLabel: "aggregate MiB/s",
                series: Dictionary(grouping: records) { "\($0.bench == "io-write" ? "write" : "read"), \($0.servers) servers, \($0.layout), \($0.via)" }
                    .mapValues { $0.map { (Double($0.clients), $0.mibPerSecond) } }
            ).write(to: plot)
            progress("plot written to \(plot)")
        }
    }

    /// The job of `clients` worker processes; its slowest write and read.
    private func runClients(
        executable: String, fileSystem: String, clients: Int, region: Int, chunk: Int, layout: ConcurrentIOWorker.Layout, mountPoint: String?, parallelIO: Bool
    ) throws -> (write: Double, read: Double) {
        let placement = hosts.map { ["--hosts", $0] } ?? []
        let command = [executable, "run", "-n", String(clients)] + placement + [
            executable, "bench", "io-worker", "--name", fileSystem, "--region-bytes", String(region), "--chunk-bytes", String(chunk), "--layout", layout.rawValue,
            "--in-flight", String(inFlight),
        ] + (mountPoint.map { ["--mount-point", $0] } ?? []) + (parallelIO ? ["--mpiio"] : [])
        let outcome = try CommandRunner.run(command, environment: ProcessEnvironment.current(), timeoutSeconds: 600)
        for line in outcome.output.split(separator: "\n") where line.hasPrefix("io-worker ") {
            let words = line.split(separator: " ").compactMap { Double($0) }
            if words.count == 2 { return (words[0], words[1]) }
        }
        throw BenchmarkFailure("the \(clients) clients on file system \(fileSystem) reported no times (exit \(outcome.status)): \(outcome.errors.suffix(600))")
    }

    static func table(_ records: [Record]) -> String {
        var table = TextTable(["bench", "layout", "via", "servers", "clients", "MiB", "MiB/s", "local file", "tcp", "vs local", "vs tcp"])
        for record in records {
            table.append([
                record.bench, record.layout, record.via, String(record.servers), String(record.clients), String(record.bytes >> 20), format(record.mibPerSecond, 1),
                format(record.localFileMibPerSecond, 1), format(record.tcpMibPerSecond, 1), record.writeVsLocalRatio.map { format($0, 2) } ?? "-",
                record.readVsTcpRatio.map { format($0, 2) } ?? "-",
            ])
        }
        return "\n(writes against a local file written with fsync; reads against one loopback TCP stream of the same bytes)\n" + table.text
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench io: \(text)")
    }
}
