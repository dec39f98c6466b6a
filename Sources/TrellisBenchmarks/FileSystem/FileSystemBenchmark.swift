import Glibc
import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol

/// `trellis bench fs`: writes and reads one striped file through the client
/// library on a file system it starts itself (`trellis up`), and the same
/// bytes to and from a local file in the same folder, in the same run.
public struct FileSystemBenchmark: ProgramBenchmark {
    /// A benchmark at the default settings (`trellis bench` sets them from its options).
    public init() {}

    @Option(help: "Servers of the file system it starts; the file is striped over all of them.") var servers = 4
    @Option(help: "MiB to write and read.") var mib = 256
    @Option(help: "MiB per client call.") var chunkMib = 8
    @OptionGroup var data: BenchFolder

    /// Refuses sizes and server counts below 1.
    public func validate() throws {
        guard mib > 0, chunkMib > 0, servers > 0 else { throw ValidationError("--mib, --chunk-mib and --servers must be positive") }
    }

    /// One direction: Trellis's rate beside the local file's.
    struct Record: BenchmarkRecord {
        /// `fs-write` or `fs-read`.
        var bench: String
        var bytes: Int
        var servers: Int
        var seconds: Double
        var mibPerSecond: Double
        /// The same bytes to and from a local file in the same folder.
        var localFileMibPerSecond: Double
        /// Trellis's rate over the local file's.
        var ratioVsLocalFile: Double
    }

    /// Writes (then syncs) and reads back the file through the client library,
    /// then the same bytes with a local file, and prints a JSON line per direction
    /// with both rates in MiB/s and their ratio. Throws `BenchmarkFailure` for
    /// data that reads back wrong.
    public func run(executable: String) throws {
        let site = try data.open("fs")
        defer { site.close() }
        try site.startNameService(executable: executable)
        _ = try site.startFileSystem(name: "bench", servers: servers, subfolder: "up", executable: executable)
        let fs = try FileSystemClient.connect(name: "bench")
        defer { fs.close() }

        let chunk = chunkMib << 20
        let total = mib << 20
        var generator = SeededGenerator(seed: 1)
        let block = ByteBuffer(bytes: (0..<chunk).map { _ in UInt8.random(in: 0...255, using: &generator) })

        // Trellis: striped over every server, made durable with sync.
        let file = try fs.open("/bench.dat", access: .readWrite, create: true)
        let trellisWrite = try timed {
            for offset in stride(from: 0, to: total, by: chunk) { try file.write(block, at: UInt64(offset)) }
            try file.sync()
        }
        var trellisMatches = true
        let trellisRead = try timed {
            for offset in stride(from: 0, to: total, by: chunk) {
                let read = try file.read(pattern: try .contiguous(offset: UInt64(offset), length: UInt64(chunk)))
                trellisMatches = read == block && trellisMatches
            }
        }
        try file.close()
        guard trellisMatches else { throw BenchmarkFailure("the file read back differs from what was written") }

        // Baseline: the same bytes to a local file on the same disk, fsynced.
        let localPath = site.folder + "/baseline.dat"
        let localWrite = try timed {
            let descriptor = open(localPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            defer { close(descriptor) }
            for offset in stride(from: 0, to: total, by: chunk) {
                try block.withUnsafeReadableBytes { bytes in
                    guard pwrite(descriptor, bytes.baseAddress, bytes.count, off_t(offset)) == bytes.count else { throw BenchmarkFailure("writing \(localPath) failed") }
                }
            }
            fsync(descriptor)
        }
        let localRead = try timed {
            let descriptor = open(localPath, O_RDONLY | O_CLOEXEC)
            defer { close(descriptor) }
            var buffer = [UInt8](repeating: 0, count: chunk)
            for offset in stride(from: 0, to: total, by: chunk) {
                guard pread(descriptor, &buffer, chunk, off_t(offset)) == chunk else { throw BenchmarkFailure("reading \(localPath) failed") }
            }
        }
        for (name, seconds, baseline) in [("fs-write", trellisWrite, localWrite), ("fs-read", trellisRead, localRead)] {
            let rate = Double(total) / 1_048_576 / seconds
            let baseRate = Double(total) / 1_048_576 / baseline
            Record(
                bench: name, bytes: total, servers: servers, seconds: rounded(seconds, 4), mibPerSecond: rounded(rate, 1),
                localFileMibPerSecond: rounded(baseRate, 1), ratioVsLocalFile: rounded(rate / baseRate, 3)
            ).printLine()
        }
    }

    private func timed(_ body: () throws -> Void) throws -> Double { try timedSeconds(body) }
}
