import Glibc
import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol
import TrellisFSServer
import TrellisRuntime

/// `trellis bench fs`: writes and reads one striped file through the client
/// library on a file system it starts itself (`trellis up`), and the same
/// bytes to and from a local file in the same folder, in the same run; with
/// several replica counts, one file system of each, one after another.
public struct FileSystemBenchmark: ProgramBenchmark {
    /// A benchmark at the default settings (`trellis bench` sets them from its options).
    public init() {}

    @Option(help: "Servers of the file system it starts; the file is striped over all of them.") var servers = 4
    @Option(help: "MiB to write and read.") var mib = 256
    @Option(help: "MiB per client call.") var chunkMib = 8
    @Option(
        parsing: .upToNextOption,
        help: "Replica counts: each starts a file system of its own, run one after another (every byte on that many servers).")
    var replicas: [Int] = [1]
    @Option(
        parsing: .upToNextOption,
        help: "How the file system's processes authenticate: key (a cluster key of the run's own; every data request with a capability), none, or both in one run.")
    var auth: [FileSystemConfiguration.Authentication] = [.key, .none]
    @OptionGroup var data: BenchFolder

    /// Refuses sizes and server counts below 1, and replica counts outside 1 to 3 or above the servers.
    public func validate() throws {
        guard mib > 0, chunkMib > 0, servers > 0 else { throw ValidationError("--mib, --chunk-mib and --servers must be positive") }
        guard !replicas.isEmpty, replicas.allSatisfy({ (1...min(3, servers)).contains($0) }) else {
            throw ValidationError("--replicas takes counts from 1 to 3, and no more than --servers")
        }
        guard !auth.isEmpty else { throw ValidationError("--auth takes key, none or both") }
    }

    /// One direction: Trellis's rate beside the local file's.
    struct Record: BenchmarkRecord {
        /// `fs-write` or `fs-read`.
        var bench: String
        var bytes: Int
        var servers: Int
        /// Copies of every byte in the file system measured.
        var replicas: Int
        /// `key`: authenticated connections and sealed frames; `none`: neither.
        var auth: String
        var seconds: Double
        var mibPerSecond: Double
        /// The same bytes to and from a local file in the same folder.
        var localFileMibPerSecond: Double
        /// Trellis's rate over the local file's.
        var ratioVsLocalFile: Double
        /// The rate over the same direction's with one copy, in the same run (when it was measured).
        var ratioVsOneReplica: Double?
        /// With a key, the rate over the same direction's without one, in the same run (when it was measured).
        var ratioVsNoKey: Double?
    }

    /// Writes (then syncs) and reads back the file through the client library,
    /// for each replica count, then the same bytes with a local file, and
    /// prints a JSON line per direction and replica count with both rates in
    /// MiB/s and their ratios. Throws `BenchmarkFailure` for data that reads back wrong.
    public func run(executable: String) throws {
        let site = try data.open("fs")
        defer { site.close() }
        // A key of the run's own: the name service and the servers find it in the environment they inherit, the client is given it.
        let keyFile = site.folder + "/cluster.key"
        let key = try ClusterKey.generate(at: keyFile)
        setenv("TRELLIS_KEY_FILE", keyFile, 1)
        try site.startNameService(executable: executable)
        let chunk = chunkMib << 20
        let total = mib << 20
        var generator = SeededGenerator(seed: 1)
        let block = ByteBuffer(bytes: (0..<chunk).map { _ in UInt8.random(in: 0...255, using: &generator) })
        var measured: [(replicas: Int, auth: FileSystemConfiguration.Authentication, write: Double, read: Double)] = []
        for count in replicas {
            for authentication in auth {
                // One file system at a time, so each has the machine to itself.
                let system = try site.startFileSystem(
                    name: "bench\(count)\(authentication)", servers: servers, subfolder: "up\(count)\(authentication)", executable: executable,
                    replicas: count, authentication: authentication)
                defer { system.stop() }
                let runtime = try Runtime.initialize(asSingleton: true, authentication: authentication == .key ? .key(key) : .none)
                defer { try? runtime.finalize() }
                let seconds = try measureTrellis(name: system.name, runtime: runtime, block: block, total: total)
                measured.append((count, authentication, seconds.write, seconds.read))
            }
        }

        // Baseline: the same bytes to a local file on the same disk, fsynced.
        let (localWrite, localRead) = try LocalFileBaseline.seconds(bytes: total, chunkBytes: chunk, path: site.folder + "/baseline.dat")
        for run in measured {
            let one = measured.first { $0.replicas == 1 && $0.auth == run.auth }
            let keyless = run.auth == .key ? measured.first { $0.replicas == run.replicas && $0.auth == .none } : nil
            for (name, seconds, baseline, single, unkeyed) in [
                ("fs-write", run.write, localWrite, one?.write, keyless?.write), ("fs-read", run.read, localRead, one?.read, keyless?.read),
            ] {
                let rate = Double(total) / 1_048_576 / seconds
                let baseRate = Double(total) / 1_048_576 / baseline
                Record(
                    bench: name, bytes: total, servers: servers, replicas: run.replicas, auth: run.auth.rawValue, seconds: rounded(seconds, 4),
                    mibPerSecond: rounded(rate, 1), localFileMibPerSecond: rounded(baseRate, 1), ratioVsLocalFile: rounded(rate / baseRate, 3),
                    ratioVsOneReplica: single.map { rounded($0 / seconds, 3) }, ratioVsNoKey: unkeyed.map { rounded($0 / seconds, 3) }
                ).printLine()
            }
        }
    }

    /// Seconds to write (striped over every server, made durable with sync) and to read back the file.
    private func measureTrellis(name: String, runtime: Runtime, block: ByteBuffer, total: Int) throws -> (write: Double, read: Double) {
        let fs = try FileSystemClient.connect(name: name, runtime: runtime)
        defer { fs.close() }
        let chunk = block.readableBytes
        let file = try fs.open("/bench.dat", access: .readWrite, create: true)
        let write = try timed {
            for offset in stride(from: 0, to: total, by: chunk) { try file.write(block, at: UInt64(offset)) }
            try file.sync()
        }
        var matches = true
        let read = try timed {
            for offset in stride(from: 0, to: total, by: chunk) {
                let read = try file.read(pattern: try .contiguous(offset: UInt64(offset), length: UInt64(chunk)))
                matches = read == block && matches
            }
        }
        try file.close()
        guard matches else { throw BenchmarkFailure("the file read back from \(name) differs from what was written") }
        return (write, read)
    }

    private func timed(_ body: () throws -> Void) throws -> Double { try timedSeconds(body) }
}

extension FileSystemConfiguration.Authentication: ExpressibleByArgument {}
