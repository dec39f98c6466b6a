import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisRuntime

/// The client side of `trellis bench io`, run by every rank of a job under
/// `trellis run` (PVFS's concurrent read/write test, §4.1 of "PVFS: a
/// parallel file system for Linux clusters"): all open one new file (or a
/// file each), write disjoint contiguous regions at once, close, reopen,
/// read the same regions back, close; the ranks synchronize before and
/// after each phase, and a phase takes as long as its slowest rank.
public enum ConcurrentIOWorker {
    /// How the ranks share files.
    public enum Layout: String, CaseIterable, Sendable {
        /// One file, each rank's region at rank × region bytes.
        case shared
        /// A file per rank.
        case perProcess = "per-process"
    }

    /// The slowest rank's seconds for each phase, as every rank learns them.
    public struct Times: Sendable {
        /// From the barrier before the writes to the slowest rank's sync and close.
        public var writeSeconds: Double
        /// From the barrier before the reads to the slowest rank's close.
        public var readSeconds: Double
    }

    /// Runs both phases in every rank of `world` on the file system `name`,
    /// `regionBytes` per rank in calls of `chunkBytes`, and checks every byte
    /// read back (after the timing). The file is removed at the end.
    public static func run(runtime: Runtime, name: String, regionBytes: Int, chunkBytes: Int, layout: Layout, timeoutSeconds: Double = 60) throws -> Times {
        let world = runtime.world
        let fs = try FileSystemClient.connect(name: name, runtime: runtime, timeoutSeconds: timeoutSeconds)
        defer { fs.close() }
        let path = layout == .shared ? "/bench-io-shared.dat" : "/bench-io-\(world.rank).dat"
        let base = layout == .shared ? UInt64(world.rank * regionBytes) : 0
        var generator = SeededGenerator(seed: UInt64(world.rank) &+ 1)
        let block = ByteBuffer(bytes: (0..<chunkBytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let offsets = stride(from: 0, to: regionBytes, by: chunkBytes).map { ($0, min(chunkBytes, regionBytes - $0)) }
        // Connections to every server first: the phases time the I/O, not this client's first connects.
        for server in fs.configuration.servers.indices { try fs.ping(server: server) }
        if layout == .shared, world.rank == 0 { try fs.open(path, access: .write, create: true).close() }
        if layout == .perProcess { try fs.open(path, access: .write, create: true).close() }

        try world.barrier()
        let write = try timedSeconds {
            let file = try fs.open(path, access: .write)
            for (offset, length) in offsets { try file.write(block.getSlice(at: block.readerIndex, length: length)!, at: base + UInt64(offset)) }
            try file.sync()
            try file.close()
        }
        try world.barrier()
        var pieces: [ByteBuffer] = []
        let read = try timedSeconds {
            let file = try fs.open(path, access: .read)
            for (offset, length) in offsets { pieces.append(try file.read(at: base + UInt64(offset), length: UInt64(length))) }
            try file.close()
        }
        try world.barrier()
        for ((offset, length), piece) in zip(offsets, pieces) where piece != block.getSlice(at: block.readerIndex, length: length)! {
            throw BenchmarkFailure("rank \(world.rank) read back wrong bytes at \(base + UInt64(offset)) of \(path) on file system \(name)")
        }
        let slowest = try world.allreduce([write, read], .max)
        try world.barrier()
        if layout == .perProcess || world.rank == 0 { try fs.removeFile(path) }
        return Times(writeSeconds: slowest[0], readSeconds: slowest[1])
    }
}
