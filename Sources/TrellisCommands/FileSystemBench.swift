#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol

/// `trellis bench fs`: writes and reads one striped file through the client
/// library on a file system it starts itself (`trellis up`), and the same
/// bytes to and from a local file in the same folder, in the same run.
struct FileSystemBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "File-system write and read throughput against a local-file baseline measured in the same run.",
        discussion: "Prints one JSON object per line: bench, bytes, servers, seconds, mibPerSecond, baselineMiBPerSecond, ratio (Trellis / local file).")

    @Option(help: "Servers of the file system it starts.") var servers = 4
    @Option(help: "MiB to write and read.") var mib = 256
    @Option(help: "MiB per client call.") var chunkMib = 8
    @Option(help: "Folder for the file system and the baseline file (default: a new one under /tmp).") var data: String?

    struct Record: Codable {
        var bench: String
        var bytes: Int
        var servers: Int
        var seconds: Double
        var mibPerSecond: Double
        var baselineMiBPerSecond: Double
        var ratio: Double
    }

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard mib > 0, chunkMib > 0, servers > 0 else { throw ValidationError("--mib, --chunk-mib and --servers must be positive") }
        let folder = data ?? (NSTemporaryDirectory() + "trellis-bench-fs-\(getpid())")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if data == nil { try? FileManager.default.removeItem(atPath: folder) } }
        TemporaryFileSystem.useOwnNameService()
        let system = try TemporaryFileSystem(name: "bench", servers: servers, folder: folder + "/up")
        defer { system.stop() }
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
        guard trellisMatches else { throw CommandFailure("the file read back differs from what was written") }

        // Baseline: the same bytes to a local file on the same disk, fsynced.
        let localPath = folder + "/baseline.dat"
        let localWrite = try timed {
            let descriptor = open(localPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            defer { close(descriptor) }
            for offset in stride(from: 0, to: total, by: chunk) {
                try block.withUnsafeReadableBytes { bytes in
                    guard pwrite(descriptor, bytes.baseAddress, bytes.count, off_t(offset)) == bytes.count else { throw CommandFailure("writing \(localPath) failed") }
                }
            }
            fsync(descriptor)
        }
        let localRead = try timed {
            let descriptor = open(localPath, O_RDONLY | O_CLOEXEC)
            defer { close(descriptor) }
            var buffer = [UInt8](repeating: 0, count: chunk)
            for offset in stride(from: 0, to: total, by: chunk) {
                guard pread(descriptor, &buffer, chunk, off_t(offset)) == chunk else { throw CommandFailure("reading \(localPath) failed") }
            }
        }
        for (name, seconds, baseline) in [("fs-write", trellisWrite, localWrite), ("fs-read", trellisRead, localRead)] {
            let rate = Double(total) / 1_048_576 / seconds
            let baseRate = Double(total) / 1_048_576 / baseline
            try printJSON(Record(bench: name, bytes: total, servers: servers, seconds: seconds, mibPerSecond: rate, baselineMiBPerSecond: baseRate, ratio: rate / baseRate))
        }
    }

    private func timed(_ body: () throws -> Void) throws -> Double { try timedSeconds(body) }
}
