import Glibc
import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol

extension FileSystemCommand {
    /// `trellis fs cp`: into, out of, or within the file system, in chunks
    /// that go to all data servers at once, several chunks on their way at
    /// a time (write-behind on copies in, read-ahead on copies out).
    struct Copy: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "cp", abstract: "Copy a file into, out of or within the file system (fs:/path marks file-system paths).",
            discussion: "A progress bar shows on a terminal; the last line gives bytes, seconds and MiB/s (JSON: source, destination, bytes, seconds, mibPerSecond).")
        @OptionGroup var options: FileSystemOptions
        @Option(help: "Bytes moved per step.") var chunkBytes = 4 << 20
        @Option(help: "Steps on their way at once (1: each waits for the one before).") var inFlight = 4
        @Flag(help: "Print the result as one JSON object.") var json = false
        @Argument(help: "A local path or fs:/path.") var source: String
        @Argument(help: "A local path or fs:/path.") var destination: String

        struct Record: Codable { var source: String; var destination: String; var bytes: UInt64; var seconds: Double; var mibPerSecond: Double }

        private enum Place {
            case local(String)
            case remote(String)
            init(_ text: String) { self = text.hasPrefix("fs:") ? .remote(String(text.dropFirst(3))) : .local(text) }
        }

        func validate() throws {
            guard chunkBytes > 0, inFlight > 0 else { throw ValidationError("--chunk-bytes and --in-flight must be positive") }
            if case .local = Place(source), case .local = Place(destination) { throw ValidationError("one side must be fs:/path") }
        }

        func run(_ fs: FileSystemClient) throws {
            let from = Place(source)
            var to = Place(destination)
            // Copying into a directory keeps the file's name.
            if case .remote(let path) = to, (try? fs.stat(path))?.kind == .directory {
                to = .remote((path.hasSuffix("/") ? path : path + "/") + lastName(of: source))
            }
            if case .local(let path) = to, isLocalDirectory(path) { to = .local(path + "/" + lastName(of: source)) }

            let start = MonotonicClock.nanoseconds()
            let copied: UInt64
            switch (from, to) {
            case (.local(let source), .remote(let destination)):
                let input = try LocalFile(source, flags: O_RDONLY)
                defer { input.close() }
                let progress = progressBar(total: try input.size())
                let output = try remoteOutput(fs, destination)
                copied = try output.writeStream(from: 0, inFlight: inFlight) {
                    let chunk = try input.read(upTo: chunkBytes)
                    progress.update(progress.done + UInt64(chunk.readableBytes))
                    return chunk
                }
                try output.close()
                progress.finish()
            case (.remote(let source), .local(let destination)):
                let input = try fs.open(source, access: .read)
                defer { try? input.close() }
                let size = try input.size()
                let progress = progressBar(total: size)
                let output = try LocalFile(destination, flags: O_WRONLY | O_CREAT | O_TRUNC)
                defer { output.close() }
                // The size taken at the start is what is copied (holes as zeros), as cp copies what stat said.
                copied = try input.readStream(at: 0, length: size, chunkBytes: chunkBytes, inFlight: inFlight, withinFile: true) { pieces in
                    for piece in pieces { try output.write(piece) }
                    progress.update(progress.done + pieces.reduce(0) { $0 + UInt64($1.readableBytes) })
                }
                try output.sync()
                progress.finish()
            case (.remote(let source), .remote(let destination)):
                let input = try fs.open(source, access: .read)
                defer { try? input.close() }
                let size = try input.size()
                let progress = progressBar(total: size)
                let output = try remoteOutput(fs, destination)
                var reader = input.sequentialReader(at: 0, length: size, chunkBytes: chunkBytes, inFlight: inFlight, withinFile: true)
                defer { reader.abandon() }
                copied = try output.writeStream(from: 0, inFlight: inFlight) {
                    guard let pieces = try reader.next() else { return nil }
                    let chunk = pieces.joined()
                    progress.update(progress.done + UInt64(chunk.readableBytes))
                    return chunk
                }
                try output.close()
                progress.finish()
            case (.local, .local):
                throw ValidationError("one side must be fs:/path")
            }
            let seconds = max(Double(MonotonicClock.nanoseconds() - start) / 1e9, 1e-9)
            let record = Record(source: source, destination: destination, bytes: copied, seconds: seconds, mibPerSecond: Double(copied) / 1_048_576 / seconds)
            if json {
                try printJSON(record)
            } else {
                print("copied \(copied) bytes in \(String(format: "%.2f", seconds)) s (\(String(format: "%.1f", record.mibPerSecond)) MiB/s)")
            }
        }

        private func progressBar(total: UInt64) -> ProgressBar {
            ProgressBar(total: total, enabled: isatty(2) == 1 && !json)
        }

        /// The file-system file copied to, emptied first when it exists.
        private func remoteOutput(_ fs: FileSystemClient, _ path: String) throws -> OpenFile {
            if (try? fs.stat(path)) != nil { try fs.truncate(path, to: 0) }
            return try fs.open(path, access: .write, create: true)
        }

        private func lastName(of path: String) -> String {
            let plain = path.hasPrefix("fs:") ? String(path.dropFirst(3)) : path
            return plain.split(separator: "/").last.map(String.init) ?? "file"
        }

        private func isLocalDirectory(_ path: String) -> Bool {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }
}

/// A one-line progress bar on standard error, redrawn at most ten times a second.
final class ProgressBar {
    private let total: UInt64
    private let enabled: Bool
    private let start = MonotonicClock.nanoseconds()
    private var lastDraw: UInt64 = 0
    /// The bytes done as last reported.
    private(set) var done: UInt64 = 0

    init(total: UInt64, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: UInt64) {
        self.done = done
        guard enabled else { return }
        let now = MonotonicClock.nanoseconds()
        guard now - lastDraw > 100_000_000 || done == total else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / 1_048_576 / max(Double(now - start) / 1e9, 1e-9)
        let line = "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(Int(fraction * 100))% \(done / 1_048_576)/\(total / 1_048_576) MiB \(String(format: "%.1f", rate)) MiB/s"
        try? FileHandle.standardError.write(contentsOf: Data(line.utf8))
    }

    func finish() {
        if enabled { try? FileHandle.standardError.write(contentsOf: Data("\n".utf8)) }
    }
}

/// A local file for `trellis fs cp`, read and written with plain system
/// calls into and out of the buffers the client library sends and receives.
final class LocalFile {
    let path: String
    private let descriptor: Int32

    init(_ path: String, flags: Int32) throws {
        self.path = path
        descriptor = open(path, flags | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CommandFailure("cannot open \(path) for \(flags & O_ACCMODE == O_RDONLY ? "reading" : "writing"): \(String(cString: strerror(errno)))")
        }
    }

    func size() throws -> UInt64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("reading the size of") }
        return UInt64(status.st_size)
    }

    /// Up to `count` bytes, fewer only at the end of the file.
    func read(upTo count: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        while buffer.readableBytes < count {
            let wanted = count - buffer.readableBytes
            var got = 0
            // The closure reports what it wrote, never a failed call's -1.
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { space in
                got = Glibc.read(descriptor, space.baseAddress, wanted)
                return max(got, 0)
            }
            if got < 0, errno == EINTR { continue }
            guard got >= 0 else { throw failure("reading") }
            if got == 0 { break }
        }
        return buffer
    }

    func write(_ bytes: ByteBuffer) throws {
        var left = bytes
        while left.readableBytes > 0 {
            let wrote = left.withUnsafeReadableBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if wrote < 0, errno == EINTR { continue }
            guard wrote > 0 else { throw failure("writing") }
            left.moveReaderIndex(forwardBy: wrote)
        }
    }

    func sync() throws {
        guard fsync(descriptor) == 0 else { throw failure("syncing") }
    }

    func close() { _ = Glibc.close(descriptor) }

    private func failure(_ doing: String) -> CommandFailure {
        CommandFailure("\(doing) \(path): \(String(cString: strerror(errno)))")
    }
}
