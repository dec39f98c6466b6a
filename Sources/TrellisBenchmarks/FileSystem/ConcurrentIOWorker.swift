import Glibc
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisMPIIO
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
    /// read back (each call's as it comes, `holds`), keeping `inFlight` calls on their way
    /// at once. The file is removed at the end. With `mountPoint`, through
    /// that FUSE mount of it (pwrite, fsync, pread, one call at a time), not
    /// the client library.
    public static func run(
        runtime: Runtime, name: String, regionBytes: Int, chunkBytes: Int, inFlight: Int = 1, layout: Layout, mountPoint: String? = nil,
        parallelIO: Bool = false, timeoutSeconds: Double = 60
    ) throws -> Times {
        let world = runtime.world
        let path = layout == .shared ? "/bench-io-shared.dat" : "/bench-io-\(world.rank).dat"
        let base = layout == .shared ? UInt64(world.rank * regionBytes) : 0
        var generator = SeededGenerator(seed: UInt64(world.rank) &+ 1)
        let block = ByteBuffer(bytes: (0..<chunkBytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let offsets = stride(from: 0, to: regionBytes, by: chunkBytes).map { ($0, min(chunkBytes, regionBytes - $0)) }
        if let mountPoint {
            return try throughMount(world: world, path: mountPoint + path, base: base, block: block, offsets: offsets, layout: layout)
        }
        let fs = try FileSystemClient.connect(name: name, runtime: runtime, timeoutSeconds: timeoutSeconds)
        defer { fs.close() }
        // Connections to every server first: the phases time the I/O, not this client's first connects.
        for server in fs.configuration.servers.indices { try fs.ping(server: server) }
        if layout == .shared, world.rank == 0 { try fs.open(path, access: .write, create: true).close() }
        if layout == .perProcess { try fs.open(path, access: .write, create: true).close() }
        if parallelIO {
            return try throughParallelIO(runtime: runtime, fs: fs, path: path, base: base, block: block, offsets: offsets, layout: layout)
        }

        try world.barrier()
        let write = try timedSeconds {
            let file = try fs.open(path, access: .write)
            var calls = offsets.makeIterator()
            try file.writeStream(from: base, inFlight: inFlight) { calls.next().map { block.getSlice(at: block.readerIndex, length: $0.1)! } }
            try file.sync()
            try file.close()
        }
        try world.barrier()
        var calls = 0
        let read = try timedSeconds {
            let file = try fs.open(path, access: .read)
            try file.readStream(at: base, length: UInt64(regionBytes), chunkBytes: chunkBytes, inFlight: inFlight) { pieces in
                guard calls < offsets.count, holds(pieces, startOf: block, length: offsets[calls].1) else {
                    throw BenchmarkFailure("rank \(world.rank) read back wrong bytes in chunk \(calls) of \(path) on file system \(name)")
                }
                calls += 1
            }
            try file.close()
        }
        try world.barrier()
        guard calls == offsets.count else { throw BenchmarkFailure("rank \(world.rank) read \(calls) of \(offsets.count) chunks of \(path) on file system \(name)") }
        let slowest = try world.allreduce([write, read], .max)
        try world.barrier()
        if layout == .perProcess || world.rank == 0 { try fs.removeFile(path) }
        return Times(writeSeconds: slowest[0], readSeconds: slowest[1])
    }

    /// The same phases through Trellis MPI-IO: the ranks open the file
    /// together (each its own for per-process) and write, then read, each
    /// chunk with one collective call, as an MPI program would
    /// (MPI_File_write_at_all); disjoint contiguous regions go straight to
    /// the servers, with no aggregation.
    private static func throughParallelIO(
        runtime: Runtime, fs: FileSystemClient, path: String, base: UInt64, block: ByteBuffer, offsets: [(Int, Int)], layout: Layout
    ) throws -> Times {
        let world = runtime.world
        let ranks = layout == .shared ? world : runtime.selfCommunicator
        try world.barrier()
        let write = try timedSeconds {
            let file = try ParallelFile.open(ranks, path: path, on: fs, access: .write)
            for (offset, length) in offsets { try file.writeAll(at: base + UInt64(offset), block.getSlice(at: block.readerIndex, length: length)!) }
            try file.sync()
            try file.close()
        }
        try world.barrier()
        // A wrong call is reported after the phase, so the other ranks' collective calls are not left waiting.
        var firstWrong: Int?
        let read = try timedSeconds {
            let file = try ParallelFile.open(ranks, path: path, on: fs, access: .read)
            for (offset, length) in offsets {
                let bytes = try file.readAll(at: base + UInt64(offset), bytes: length)
                if !holds([bytes], startOf: block, length: length), firstWrong == nil { firstWrong = offset }
            }
            try file.close()
        }
        try world.barrier()
        if let firstWrong { throw BenchmarkFailure("rank \(world.rank) read back wrong bytes at \(base + UInt64(firstWrong)) of \(path) through MPI-IO") }
        let slowest = try world.allreduce([write, read], .max)
        try world.barrier()
        if layout == .perProcess || world.rank == 0 { try fs.removeFile(path) }
        return Times(writeSeconds: slowest[0], readSeconds: slowest[1])
    }

    /// The same phases through a FUSE mount, with POSIX calls.
    private static func throughMount(
        world: Communicator, path: String, base: UInt64, block: ByteBuffer, offsets: [(Int, Int)], layout: Layout
    ) throws -> Times {
        func descriptor(_ flags: Int32) throws -> Int32 {
            let fd = open(path, flags | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw BenchmarkFailure("rank \(world.rank) cannot open \(path): \(String(cString: strerror(errno)))") }
            return fd
        }
        if layout == .perProcess || world.rank == 0 { close(try descriptor(O_WRONLY | O_CREAT)) }
        try world.barrier()
        let write = try timedSeconds {
            let fd = try descriptor(O_WRONLY)
            defer { close(fd) }
            for (offset, length) in offsets {
                let written = block.withUnsafeReadableBytes { pwrite(fd, $0.baseAddress, length, off_t(base) + off_t(offset)) }
                guard written == length else { throw BenchmarkFailure("rank \(world.rank) wrote \(written) of \(length) bytes to \(path): \(String(cString: strerror(errno)))") }
            }
            guard fsync(fd) == 0 else { throw BenchmarkFailure("rank \(world.rank) could not fsync \(path): \(String(cString: strerror(errno)))") }
        }
        try world.barrier()
        // One buffer for every call, as the baselines read: an application reads into memory it owns.
        var piece = ByteBuffer(repeating: 0, count: block.readableBytes)
        let read = try timedSeconds {
            let fd = try descriptor(O_RDONLY)
            defer { close(fd) }
            for (offset, length) in offsets {
                let count = piece.withUnsafeMutableReadableBytes { pread(fd, $0.baseAddress, length, off_t(base) + off_t(offset)) }
                guard count == length else {
                    throw BenchmarkFailure("rank \(world.rank) read short at \(base + UInt64(offset)) of \(path)")
                }
                guard holds([piece], startOf: block, length: length) else {
                    throw BenchmarkFailure("rank \(world.rank) read back wrong bytes at \(base + UInt64(offset)) of \(path)")
                }
            }
        }
        try world.barrier()
        let slowest = try world.allreduce([write, read], .max)
        try world.barrier()
        if layout == .perProcess || world.rank == 0 { unlink(path) }
        return Times(writeSeconds: slowest[0], readSeconds: slowest[1])
    }

    /// Whether the first `length` bytes of `pieces`, laid end to end, are
    /// the first `length` bytes of `block`. Every chunk is checked as it
    /// comes and then dropped, inside the timing: keeping each until the
    /// end put every read into memory never touched before, and the
    /// kernel's zeroing of those pages took more of the clients' time than
    /// the reads (the baselines read into one buffer over and over).
    static func holds(_ pieces: [ByteBuffer], startOf block: ByteBuffer, length: Int) -> Bool {
        var checked = 0
        for piece in pieces where checked < length {
            let count = min(piece.readableBytes, length - checked)
            if count == 0 { continue }
            let same = piece.withUnsafeReadableBytes { got in
                block.withUnsafeReadableBytes { want in memcmp(got.baseAddress!, want.baseAddress! + checked, count) == 0 }
            }
            guard same else { return false }
            checked += count
        }
        return checked == length
    }
}
