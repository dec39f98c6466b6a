import NIOCore
import TrellisCore
import TrellisFSProtocol

/// What rank 0 found in the sources, broadcast before any data: every
/// entry in the order hosts create them, and the file bytes that follow as
/// one stream (each `.file` entry's `size` bytes, in this order).
public struct StageManifest: Sendable, Equatable {
    /// The entries, in the order hosts create them; the stream carries the
    /// bytes of the `.file` ones in this order.
    public var entries: [StageEntry]
    /// Names this stage's temporary files, so that two stages never collide.
    public var tag: String
    /// Why rank 0 could not read the sources; nothing is staged when set.
    public var error: String?
    /// The source folder's own metadata, which a sync gives the destination
    /// folder itself (as `rsync -a SRC/ DIR/` does); its path is empty.
    public var root: StageEntry?

    /// A manifest of `entries`, without a root; `error` set means rank 0 could
    /// not read the sources.
    public init(entries: [StageEntry], tag: String, error: String? = nil) {
        self.entries = entries
        self.tag = tag
        self.error = error
    }

    /// The bytes of the stream: the sizes of all `.file` entries added up.
    public var totalBytes: Int64 { entries.reduce(0) { $0 + ($1.kind == .file ? $1.size : 0) } }
    /// How many files the sources hold, hard links counted as files.
    public var fileCount: Int { entries.count { $0.kind == .file || $0.kind == .hardLink } }

    /// The manifest in the binary form that rank 0 broadcasts; `init(decoding:)` reads it back.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + entries.count * 48)
        buffer.writeInteger(Self.version)
        buffer.writeLengthPrefixed(tag)
        buffer.writeInteger(UInt8(error == nil ? 0 : 1))
        if let error { buffer.writeLengthPrefixed(error) }
        buffer.writeInteger(UInt32(entries.count), endianness: .little)
        for entry in entries { Self.write(entry, to: &buffer) }
        buffer.writeInteger(UInt8(root == nil ? 0 : 1))
        if let root { Self.write(root, to: &buffer) }
        return buffer
    }

    private static func write(_ entry: StageEntry, to buffer: inout ByteBuffer) {
        buffer.writeInteger(entry.kind.rawValue)
        buffer.writeLengthPrefixed(entry.path)
        buffer.writeInteger(entry.mode, endianness: .little)
        buffer.writeInteger(entry.uid, endianness: .little)
        buffer.writeInteger(entry.gid, endianness: .little)
        buffer.writeInteger(entry.modified.seconds, endianness: .little)
        buffer.writeInteger(entry.modified.nanoseconds, endianness: .little)
        buffer.writeInteger(entry.size, endianness: .little)
        buffer.writeLengthPrefixed(entry.target)
        buffer.writeInteger(UInt16(entry.extendedAttributes.count), endianness: .little)
        for attribute in entry.extendedAttributes {
            buffer.writeLengthPrefixed(attribute.name)
            buffer.writeInteger(UInt32(attribute.value.count), endianness: .little)
            buffer.writeBytes(attribute.value)
        }
        buffer.writeInteger(UInt8(entry.digest?.count ?? 0))
        if let digest = entry.digest { buffer.writeBytes(digest) }
    }

    /// Reads a manifest from its broadcast form. Throws `TrellisError`
    /// (`.protocolViolation`) when it is truncated, of another version, or names
    /// a path that could reach outside the destination (absolute, or with `..`
    /// or empty parts).
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
            let entry = try Self.readEntry(from: &buffer, index: index)
            guard StagePath.isSafe(entry.path) else { throw fail("entry \(index) has an unsafe path '\(entry.path)'") }
            if entry.kind == .hardLink, !StagePath.isSafe(entry.target) { throw fail("hard link \(entry.path) names an unsafe path '\(entry.target)'") }
            entries.append(entry)
        }
        guard let hasRoot = buffer.readInteger(as: UInt8.self) else { throw fail("truncated before the root") }
        let root = hasRoot == 0 ? nil : try Self.readEntry(from: &buffer, index: entries.count)
        self.init(entries: entries, tag: tag, error: error)
        self.root = root
    }

    private static func readEntry(from buffer: inout ByteBuffer, index: Int) throws -> StageEntry {
        func fail(_ what: String) -> TrellisError { TrellisError(.protocolViolation, "malformed stage manifest: \(what)") }
        guard let rawKind = buffer.readInteger(as: UInt8.self), let kind = StageEntry.Kind(rawValue: rawKind),
            let path = buffer.readLengthPrefixedString(),
            let mode = buffer.readInteger(endianness: .little, as: UInt32.self),
            let uid = buffer.readInteger(endianness: .little, as: UInt32.self),
            let gid = buffer.readInteger(endianness: .little, as: UInt32.self),
            let seconds = buffer.readInteger(endianness: .little, as: Int64.self),
            let nanoseconds = buffer.readInteger(endianness: .little, as: UInt32.self),
            let size = buffer.readInteger(endianness: .little, as: Int64.self), size >= 0,
            let target = buffer.readLengthPrefixedString(),
            let attributeCount = buffer.readInteger(endianness: .little, as: UInt16.self)
        else { throw fail("entry \(index) is truncated or has an unknown kind") }
        var attributes: [ExtendedAttribute] = []
        for _ in 0..<attributeCount {
            guard let name = buffer.readLengthPrefixedString(), let length = buffer.readInteger(endianness: .little, as: UInt32.self),
                let value = buffer.readBytes(length: Int(length))
            else { throw fail("entry \(index) has a truncated extended attribute") }
            attributes.append(ExtendedAttribute(name: name, value: value))
        }
        guard let digestLength = buffer.readInteger(as: UInt8.self), let digestBytes = buffer.readBytes(length: Int(digestLength)) else {
            throw fail("entry \(index) has a truncated checksum")
        }
        var entry = StageEntry(
            path: path, kind: kind, mode: mode & 0o7777, uid: uid, gid: gid, modified: Timestamp(seconds: seconds, nanoseconds: nanoseconds),
            size: kind == .file ? size : 0, target: target)
        entry.extendedAttributes = attributes
        entry.digest = digestLength == 0 ? nil : digestBytes
        return entry
    }

    private static let version: UInt8 = 2
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
