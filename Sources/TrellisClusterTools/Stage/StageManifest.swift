import NIOCore
import TrellisCore

/// What rank 0 found in the sources, broadcast before any data: every
/// entry in the order hosts create them, and the file bytes that follow as
/// one stream (each `.file` entry's `size` bytes, in this order).
public struct StageManifest: Sendable, Equatable {
    public var entries: [StageEntry]
    /// Names this stage's temporary files, so that two stages never collide.
    public var tag: String
    /// Why rank 0 could not read the sources; nothing is staged when set.
    public var error: String?

    public init(entries: [StageEntry], tag: String, error: String? = nil) {
        self.entries = entries
        self.tag = tag
        self.error = error
    }

    public var totalBytes: Int64 { entries.reduce(0) { $0 + ($1.kind == .file ? $1.size : 0) } }
    public var fileCount: Int { entries.count { $0.kind == .file || $0.kind == .hardLink } }

    public func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + entries.count * 48)
        buffer.writeInteger(Self.version)
        buffer.writeLengthPrefixed(tag)
        buffer.writeInteger(UInt8(error == nil ? 0 : 1))
        if let error { buffer.writeLengthPrefixed(error) }
        buffer.writeInteger(UInt32(entries.count), endianness: .little)
        for entry in entries {
            buffer.writeInteger(entry.kind.rawValue)
            buffer.writeLengthPrefixed(entry.path)
            buffer.writeInteger(entry.mode, endianness: .little)
            buffer.writeInteger(entry.uid, endianness: .little)
            buffer.writeInteger(entry.gid, endianness: .little)
            buffer.writeInteger(entry.modified.seconds, endianness: .little)
            buffer.writeInteger(entry.modified.nanoseconds, endianness: .little)
            buffer.writeInteger(entry.size, endianness: .little)
            buffer.writeLengthPrefixed(entry.target)
        }
        return buffer
    }

    public init(decoding original: ByteBuffer) throws {
        var buffer = original
        func fail(_ what: String) -> TrellisError { TrellisError(.protocolViolation, "malformed stage manifest: \(what)") }
        guard buffer.readInteger(as: UInt8.self) == Self.version else { throw fail("unknown version") }
        guard let tag = buffer.readLengthPrefixedString() else { throw fail("no tag") }
        guard let hasError = buffer.readInteger(as: UInt8.self) else { throw fail("truncated") }
        var error: String?
        if hasError != 0 {
            guard let text = buffer.readLengthPrefixedString() else { throw fail("truncated error") }
            error = text
        }
        guard let count = buffer.readInteger(endianness: .little, as: UInt32.self), Int(count) <= buffer.readableBytes else {
            throw fail("bad entry count")
        }
        var entries: [StageEntry] = []
        entries.reserveCapacity(Int(count))
        for index in 0..<Int(count) {
            guard let rawKind = buffer.readInteger(as: UInt8.self), let kind = StageEntry.Kind(rawValue: rawKind),
                let path = buffer.readLengthPrefixedString(),
                let mode = buffer.readInteger(endianness: .little, as: UInt32.self),
                let uid = buffer.readInteger(endianness: .little, as: UInt32.self),
                let gid = buffer.readInteger(endianness: .little, as: UInt32.self),
                let seconds = buffer.readInteger(endianness: .little, as: Int64.self),
                let nanoseconds = buffer.readInteger(endianness: .little, as: Int32.self),
                let size = buffer.readInteger(endianness: .little, as: Int64.self), size >= 0,
                let target = buffer.readLengthPrefixedString()
            else { throw fail("entry \(index) is truncated or has an unknown kind") }
            guard StagePath.isSafe(path) else { throw fail("entry \(index) has an unsafe path '\(path)'") }
            if kind == .hardLink, !StagePath.isSafe(target) { throw fail("hard link \(path) names an unsafe path '\(target)'") }
            entries.append(
                StageEntry(
                    path: path, kind: kind, mode: mode & 0o7777, uid: uid, gid: gid, modified: FileTime(seconds: seconds, nanoseconds: nanoseconds),
                    size: kind == .file ? size : 0, target: target))
        }
        self.init(entries: entries, tag: tag, error: error)
    }

    private static let version: UInt8 = 1
}

/// Paths inside a destination: relative, with no `..` or empty parts, so
/// that nothing a manifest says can reach outside the destination.
enum StagePath {
    static func isSafe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}

extension ByteBuffer {
    mutating func writeLengthPrefixed(_ text: String) {
        writeInteger(UInt32(text.utf8.count), endianness: .little)
        writeString(text)
    }

    mutating func readLengthPrefixedString() -> String? {
        guard let length = getInteger(at: readerIndex, endianness: .little, as: UInt32.self), Int(length) <= readableBytes - 4 else { return nil }
        moveReaderIndex(forwardBy: 4)
        return readString(length: Int(length))
    }
}
