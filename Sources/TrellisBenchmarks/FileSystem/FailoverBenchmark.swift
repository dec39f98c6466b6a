import Glibc
import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol

/// `trellis bench failover`: how long a replicated file system stops
/// serving the objects of a server that dies, and how fast the server is
/// brought up to date when it comes back.
public struct FailoverBenchmark: ProgramBenchmark {
    /// A benchmark at the default settings (`trellis bench` sets them from its options).
    public init() {}

    @Option(help: "Servers of the file system it starts.") var servers = 3
    @Option(help: "Copies of every object (2 or 3).") var replicas = 2
    @Option(help: "Rounds: each kills a server (the next one each time), writes while it is away, and starts it again.") var rounds = 3
    @Option(help: "MiB written while the server is away, which its resync sends.") var mebibytes = 64
    @Option(help: "Files created while the server is away.") var files = 200
    @OptionGroup var data: BenchFolder

    /// Refuses replica counts outside 2 to 3 or above the servers, and empty workloads.
    public func validate() throws {
        guard (2...3).contains(replicas), replicas <= servers else { throw ValidationError("--replicas takes 2 or 3, and no more than --servers") }
        guard rounds >= 1, mebibytes >= 1, files >= 0 else { throw ValidationError("--rounds and --mebibytes positive, --files not negative") }
    }

    /// One measurement of one round.
    struct Record: BenchmarkRecord {
        var bench = "failover"
        /// `failover` (kill to the first write and read), `resync` (start to healthy) or `local-copy` (the baseline).
        var op: String
        var round: Int
        var server: Int
        var replicas: Int
        var seconds: Double
        /// Resync: whether everything was sent, and what was.
        var full: Bool?
        var bytes: UInt64?
        var objects: UInt64?
        var mebibytesPerSecond: Double?
        var objectsPerSecond: Double?
        /// Failover: the configured time a copy may go unanswered.
        var failoverSeconds: Double?
    }

    /// Runs every round against a file system of its own and prints a JSON
    /// line per measurement (then a table on a terminal). Throws
    /// `BenchmarkFailure` when the file system does not recover or reads
    /// back wrong bytes.
    public func run(executable: String) throws {
        let site = try data.open("failover")
        defer { site.close() }
        try site.startNameService(executable: executable)
        let system = try site.startFileSystem(name: "failover", servers: servers, subfolder: "fs", executable: executable, replicas: replicas)
        let fs = try FileSystemClient.connect(name: system.name)
        defer { fs.close() }
        var records: [Record] = []
        let chunk = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let baseline = try localCopyRecord(folder: site.folder, chunk: chunk)
        records.append(baseline)
        baseline.printLine()
        for round in 1...rounds {
            let directory = "/round\(round)"
            try fs.makeDirectory(directory)
            guard let victim = try fs.stat(directory).handle.server else { throw BenchmarkFailure("\(directory) has no server") }
            // An object the victim is primary of: a small file in its directory, data and all.
            try fs.createFile(directory + "/probe", stuffed: true)
            _ = try fs.write(directory + "/probe", ByteBuffer(bytes: [1, 2, 3]), at: 0)
            progress("round \(round): killing server \(victim), the primary of \(directory)")
            system.killServer(victim)
            let killed = MonotonicClock.nanoseconds()
            let written = ByteBuffer(bytes: Array("round \(round)".utf8))
            _ = try fs.write(directory + "/probe", written, at: 0)
            guard try fs.read(directory + "/probe", at: 0, length: UInt64(written.readableBytes)) == written else {
                throw BenchmarkFailure("\(directory)/probe read back other bytes after server \(victim) failed over")
            }
            let failover = Double(MonotonicClock.nanoseconds() - killed) / 1e9
            let record = Record(
                op: "failover", round: round, server: victim, replicas: replicas, seconds: rounded(failover, 3),
                failoverSeconds: system.configuration.failoverSeconds)
            record.printLine()
            records.append(record)
            progress("round \(round): server \(victim) away: writing \(mebibytes) MiB and creating \(files) files for its resync")
            try fs.createFile(directory + "/data", stuffed: false)
            for index in 0..<mebibytes { _ = try fs.write(directory + "/data", chunk, at: UInt64(index) << 20) }
            for index in 0..<files { try fs.createFile(directory + "/f\(index)", stuffed: true) }
            try system.startServer(victim)
            let started = MonotonicClock.nanoseconds()
            var reports = fs.replicaStatus()
            while reports.contains(where: { $0.health != "healthy" }) {
                guard MonotonicClock.nanoseconds() - started < 600_000_000_000 else {
                    throw BenchmarkFailure("server \(victim) was not resynced within 600 s: \(reports.map { "group \($0.group) \($0.health)" })")
                }
                usleep(100_000)
                reports = fs.replicaStatus()
            }
            let seconds = Double(MonotonicClock.nanoseconds() - started) / 1e9
            let states = reports.compactMap { $0.primary?.memberStates.first { $0.server == UInt32(victim) } }
            let bytes = states.reduce(0) { $0 + $1.sentBytes }, objects = states.reduce(0) { $0 + $1.sentObjects }
            // The resyncs of the victim's groups run side by side: their rate is over the longest.
            let resyncSeconds = max(Double(states.map(\.milliseconds).max() ?? 0) / 1000, 0.001)
            let resync = Record(
                op: "resync", round: round, server: victim, replicas: replicas, seconds: rounded(seconds, 3), full: states.contains { $0.full },
                bytes: bytes, objects: objects, mebibytesPerSecond: rounded(Double(bytes) / 1_048_576 / resyncSeconds, 1),
                objectsPerSecond: rounded(Double(objects) / resyncSeconds, 1))
            resync.printLine()
            records.append(resync)
        }
        if isatty(STDOUT_FILENO) == 1 { printTable(records, baseline: baseline) }
    }

    /// The same bytes copied from file to file on local disk, and synced: what a resync's rate is set against.
    private func localCopyRecord(folder: String, chunk: ByteBuffer) throws -> Record {
        let source = folder + "/local-source", target = folder + "/local-copy"
        defer { for path in [source, target] { try? FileManager.default.removeItem(atPath: path) } }
        let bytes = Data(chunk.readableBytesView)
        FileManager.default.createFile(atPath: source, contents: nil)
        let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: source))
        for _ in 0..<mebibytes { writer.write(bytes) }
        try writer.synchronize()
        try writer.close()
        let seconds = try timedSeconds {
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: source, toPath: target)
            let copy = try FileHandle(forUpdating: URL(fileURLWithPath: target))
            try copy.synchronize()
            try copy.close()
        }
        let total = UInt64(mebibytes) << 20
        return Record(
            op: "local-copy", round: 0, server: -1, replicas: 1, seconds: rounded(seconds, 3), bytes: total, objects: 1,
            mebibytesPerSecond: rounded(Double(total) / 1_048_576 / seconds, 1))
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench failover: \(text)")
    }

    private func printTable(_ records: [Record], baseline: Record) {
        print("\n\(servers) servers, \(replicas) replicas; resync rate against a local-disk copy of \(mebibytes) MiB (\(baseline.mebibytesPerSecond ?? 0) MiB/s)")
        var table = TextTable(["round", "server", "failover s", "resync s", "kind", "MiB", "objects", "MiB/s", "objects/s", "x local copy"])
        for round in 1...rounds {
            guard let failover = records.first(where: { $0.round == round && $0.op == "failover" }),
                  let resync = records.first(where: { $0.round == round && $0.op == "resync" })
            else { continue }
            let ratio = (resync.mebibytesPerSecond ?? 0) / max(baseline.mebibytesPerSecond ?? 1, 0.001)
            table.append([
                String(round), String(failover.server), String(failover.seconds), String(resync.seconds), resync.full == true ? "full" : "log",
                String(format: "%.1f", Double(resync.bytes ?? 0) / 1_048_576), String(resync.objects ?? 0), String(resync.mebibytesPerSecond ?? 0),
                String(resync.objectsPerSecond ?? 0), String(format: "%.2f", ratio),
            ])
        }
        print(table.text)
    }
}
