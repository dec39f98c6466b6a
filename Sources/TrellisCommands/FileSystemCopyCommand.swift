import Glibc
import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol

extension FileSystemCommand {
    /// `trellis fs cp`: into, out of, or within the file system, in chunks
    /// that go to all data servers at once.
    struct Copy: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "cp", abstract: "Copy a file into, out of or within the file system (fs:/path marks file-system paths).",
            discussion: "A progress bar shows on a terminal; the last line gives bytes, seconds and MiB/s (JSON: source, destination, bytes, seconds, mibPerSecond).")
        @OptionGroup var options: FileSystemOptions
        @Option(help: "Bytes moved per step.") var chunkBytes = 8 << 20
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
            guard chunkBytes > 0 else { throw ValidationError("--chunk-bytes must be positive") }
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

            let size: UInt64
            let reader: (UInt64, Int) throws -> ByteBuffer
            var localInput: FileHandle?
            var remoteInput: OpenFile?
            switch from {
            case .remote(let path):
                // Opened once: each chunk then goes straight to the data servers, with no path walk or size query.
                let file = try fs.open(path, access: .read)
                remoteInput = file
                size = try file.size()
                reader = { offset, length in try file.read(pattern: try .contiguous(offset: offset, length: UInt64(length))) }
            case .local(let path):
                guard let handle = FileHandle(forReadingAtPath: path) else { throw CommandFailure("cannot open \(path) for reading") }
                localInput = handle
                size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
                reader = { _, length in ByteBuffer(bytes: try handle.read(upToCount: length) ?? Data()) }
            }
            defer {
                try? localInput?.close()
                try? remoteInput?.close()
            }

            let writer: (ByteBuffer, UInt64) throws -> Void
            var localOutput: FileHandle?
            var remoteOutput: OpenFile?
            switch to {
            case .remote(let path):
                if (try? fs.stat(path)) != nil { try fs.truncate(path, to: 0) }
                let file = try fs.open(path, access: .write, create: true)
                remoteOutput = file
                writer = { chunk, offset in try file.write(chunk, at: offset) }
            case .local(let path):
                guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                    throw CommandFailure("cannot open \(path) for writing")
                }
                localOutput = handle
                writer = { chunk, _ in try handle.write(contentsOf: Data(chunk.readableBytesView)) }
            }
            defer { try? localOutput?.close() }

            let start = MonotonicClock.nanoseconds()
            let progress = ProgressBar(total: size, enabled: isatty(2) == 1 && !json)
            var copied: UInt64 = 0
            while copied < size {
                let chunk = try reader(copied, Int(min(UInt64(chunkBytes), size - copied)))
                if chunk.readableBytes == 0 { break }
                try writer(chunk, copied)
                copied += UInt64(chunk.readableBytes)
                progress.update(copied)
            }
            try remoteOutput?.close()
            try localOutput?.synchronize()
            progress.finish()
            let seconds = max(Double(MonotonicClock.nanoseconds() - start) / 1e9, 1e-9)
            let record = Record(source: source, destination: destination, bytes: copied, seconds: seconds, mibPerSecond: Double(copied) / 1_048_576 / seconds)
            if json {
                try printJSON(record)
            } else {
                print("copied \(copied) bytes in \(String(format: "%.2f", seconds)) s (\(String(format: "%.1f", record.mibPerSecond)) MiB/s)")
            }
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

    init(total: UInt64, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: UInt64) {
        guard enabled else { return }
        let now = MonotonicClock.nanoseconds()
        guard now - lastDraw > 100_000_000 || done == total else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / 1_048_576 / max(Double(now - start) / 1e9, 1e-9)
        let line = "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(Int(fraction * 100))% \(done / 1_048_576)/\(total / 1_048_576) MiB \(String(format: "%.1f", rate)) MiB/s"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
