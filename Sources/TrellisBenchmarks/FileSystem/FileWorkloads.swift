import Glibc
import Foundation
import NIOCore
import TrellisFSClient
import TrellisFSDistribution

/// The workloads of `bench fuse`, each written once for a place that
/// programs reach through POSIX calls (the mount, a local folder) and once
/// for the native client, so the three measure the same work.
protocol FileWorkloads: Sendable {
    /// Writes `total` bytes as `block` after `block` to a new file and makes them durable.
    func writeSequential(_ name: String, block: [UInt8], total: Int) throws
    /// Reads the file back `block.count` bytes at a time from cold caches; false if a block differs.
    func readSequential(_ name: String, block: [UInt8], total: Int) throws -> Bool
    /// Reads `length` bytes at each offset, without read-ahead.
    func readRandom(_ name: String, offsets: [Int], length: Int) throws
    /// Removes a file a run before left, so that each write starts from nothing.
    func removeIfThere(_ name: String)
    func createEmptyFiles(_ names: [String]) throws
    func statFiles(_ names: [String]) throws
    func removeFiles(_ names: [String]) throws
    func makeDirectories(_ names: [String]) throws
    func removeDirectories(_ names: [String]) throws
}

/// Files in a folder reached through the kernel: a Trellis mount or local disk.
struct PosixFileWorkloads: FileWorkloads {
    let folder: String

    func writeSequential(_ name: String, block: [UInt8], total: Int) throws {
        let descriptor = try openFile(name, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(descriptor) }
        for offset in stride(from: 0, to: total, by: block.count) {
            guard pwrite(descriptor, block, block.count, off_t(offset)) == block.count else { throw failure("writing", name, at: offset) }
        }
        guard fsync(descriptor) == 0 else { throw failure("syncing", name) }
        dropCachedPages(descriptor)
    }

    /// Gives the file's pages back (clean after fsync or a read): a run
    /// then reuses pages the machine has touched before, rather than paying
    /// a virtual machine's first touch of fresh memory, which can halve a rate.
    private func dropCachedPages(_ descriptor: Int32) {
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
    }

    func readSequential(_ name: String, block: [UInt8], total: Int) throws -> Bool {
        let descriptor = try openFile(name, O_RDONLY)
        defer { close(descriptor) }
        // Pages still cached would spare the read its trip to the storage.
        dropCachedPages(descriptor)
        defer { dropCachedPages(descriptor) }
        var buffer = [UInt8](repeating: 0, count: block.count)
        var matches = true
        for offset in stride(from: 0, to: total, by: block.count) {
            guard pread(descriptor, &buffer, block.count, off_t(offset)) == block.count else { throw failure("reading", name, at: offset) }
            matches = matches && memcmp(buffer, block, block.count) == 0
        }
        return matches
    }

    func readRandom(_ name: String, offsets: [Int], length: Int) throws {
        let descriptor = try openFile(name, O_RDONLY)
        defer { close(descriptor) }
        dropCachedPages(descriptor)
        defer { dropCachedPages(descriptor) }
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_RANDOM)
        var buffer = [UInt8](repeating: 0, count: length)
        for offset in offsets {
            guard pread(descriptor, &buffer, length, off_t(offset)) == length else { throw failure("reading", name, at: offset) }
        }
    }

    func removeIfThere(_ name: String) {
        unlink(folder + "/" + name)
    }

    func createEmptyFiles(_ names: [String]) throws {
        for name in names { close(try openFile(name, O_WRONLY | O_CREAT | O_EXCL)) }
    }

    func statFiles(_ names: [String]) throws {
        var status = stat()
        for name in names { guard stat(folder + "/" + name, &status) == 0 else { throw failure("stat of", name) } }
    }

    func removeFiles(_ names: [String]) throws {
        for name in names { guard unlink(folder + "/" + name) == 0 else { throw failure("removing", name) } }
    }

    func makeDirectories(_ names: [String]) throws {
        for name in names { guard mkdir(folder + "/" + name, 0o755) == 0 else { throw failure("making the directory", name) } }
    }

    func removeDirectories(_ names: [String]) throws {
        for name in names { guard rmdir(folder + "/" + name) == 0 else { throw failure("removing the directory", name) } }
    }

    private func openFile(_ name: String, _ flags: Int32) throws -> Int32 {
        let descriptor = open(folder + "/" + name, flags | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("opening", name) }
        return descriptor
    }

    private func failure(_ doing: String, _ name: String, at offset: Int? = nil) -> BenchmarkFailure {
        BenchmarkFailure("\(doing) \(folder)/\(name)\(offset.map { " at byte \($0)" } ?? "") failed: \(String(cString: strerror(errno)))")
    }
}

/// Files in a Trellis directory reached through the client library, as an
/// application linked with it would: whole-block reads and writes straight
/// to the data servers.
struct NativeFileWorkloads: FileWorkloads {
    let client: FileSystemClient
    let folder: String

    func writeSequential(_ name: String, block: [UInt8], total: Int) throws {
        let file = try client.open(folder + "/" + name, access: .write, create: true)
        let buffer = ByteBuffer(bytes: block)
        for offset in stride(from: 0, to: total, by: block.count) { try file.write(buffer, at: UInt64(offset)) }
        try file.close()
    }

    func readSequential(_ name: String, block: [UInt8], total: Int) throws -> Bool {
        let file = try client.open(folder + "/" + name)
        defer { try? file.close() }
        let expected = ByteBuffer(bytes: block)
        var matches = true
        for offset in stride(from: 0, to: total, by: block.count) {
            matches = try file.read(pattern: try .contiguous(offset: UInt64(offset), length: UInt64(block.count))) == expected && matches
        }
        return matches
    }

    func readRandom(_ name: String, offsets: [Int], length: Int) throws {
        let file = try client.open(folder + "/" + name)
        defer { try? file.close() }
        for offset in offsets {
            let read = try file.read(pattern: try .contiguous(offset: UInt64(offset), length: UInt64(length)))
            guard read.readableBytes == length else { throw BenchmarkFailure("reading \(folder)/\(name) at byte \(offset) gave \(read.readableBytes) bytes") }
        }
    }

    func removeIfThere(_ name: String) {
        try? client.removeFile(folder + "/" + name)
    }

    func createEmptyFiles(_ names: [String]) throws {
        for name in names { try client.createFile(folder + "/" + name) }
    }

    func statFiles(_ names: [String]) throws {
        for name in names { _ = try client.stat(folder + "/" + name) }
    }

    func removeFiles(_ names: [String]) throws {
        for name in names { try client.removeFile(folder + "/" + name) }
    }

    func makeDirectories(_ names: [String]) throws {
        for name in names { _ = try client.makeDirectory(folder + "/" + name) }
    }

    func removeDirectories(_ names: [String]) throws {
        for name in names { try client.removeDirectory(folder + "/" + name) }
    }
}
