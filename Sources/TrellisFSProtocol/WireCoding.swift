import NIOCore
import TrellisFSDistribution

/// A value with a fixed binary form: integers fixed-width little-endian,
/// strings and arrays length-prefixed. Decoding checks every length against
/// what is left, so a malformed message is an error, never a crash.
public protocol WireCodable {
    func encode(into writer: inout WireWriter)
    init(from reader: inout WireReader) throws
}

/// Builds a message: integers little-endian and fixed-width, strings and byte runs length-prefixed.
public struct WireWriter {
    /// What was written so far.
    public private(set) var buffer: ByteBuffer

    /// An empty message with room for `capacity` bytes.
    public init(capacity: Int = 128) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// An empty message with `headroom` bytes before it, where an envelope's
    /// header can go later without copying what follows.
    public init(capacity: Int = 128, headroom: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity + headroom)
        buffer.moveWriterIndex(forwardBy: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
    }

    /// Writes a value in its wire form.
    public mutating func write<T: WireCodable>(_ value: T) { value.encode(into: &self) }
    /// Writes a run of bytes, after its length. A run that is the whole
    /// message so far and already has its length in front of it, with the
    /// writer's headroom before that (`prefixingItsLength`), becomes the
    /// message itself: a read's megabyte is not copied into its reply.
    public mutating func write(bytes: ByteBuffer) {
        let prefixAt = bytes.readerIndex - Self.lengthPrefixBytes
        if buffer.readableBytes == 0, prefixAt >= buffer.readerIndex {
            let whole = bytes.reading(from: prefixAt)
            if whole.getInteger(at: prefixAt, endianness: .little, as: UInt64.self) == UInt64(bytes.readableBytes) {
                buffer = whole
                return
            }
        }
        var bytes = bytes
        write(UInt64(bytes.readableBytes))
        buffer.writeBuffer(&bytes)
    }

    /// Bytes of the length in front of a run of bytes.
    public static let lengthPrefixBytes = 8

    /// Writes the length of `bytes` into the room in front of them (at
    /// least `lengthPrefixBytes`), where `write(bytes:)` looks for it. Call
    /// it while nothing else holds the buffer, or the write copies it.
    public static func prefixingItsLength(_ bytes: inout ByteBuffer) {
        let prefixAt = bytes.readerIndex - lengthPrefixBytes
        precondition(prefixAt >= 0, "no room in front of the bytes for their length")
        bytes.setInteger(UInt64(bytes.readableBytes), at: prefixAt, endianness: .little)
    }
    mutating func writeInteger<T: FixedWidthInteger>(_ value: T) { buffer.writeInteger(value, endianness: .little) }
    mutating func writeText(_ value: String) {
        writeInteger(UInt32(value.utf8.count))
        buffer.writeString(value)
    }
}

/// Reads a message written by `WireWriter`, checking every length before it allocates anything.
public struct WireReader {
    /// What is left to read.
    public private(set) var buffer: ByteBuffer
    /// The longest string or array accepted, against hostile lengths.
    public static let maximumCount = 1 << 24

    /// A reader of `buffer`.
    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    /// Whether everything was read (a reply with bytes left over is malformed).
    public var isAtEnd: Bool { buffer.readableBytes == 0 }

    public mutating func read<T: WireCodable>(_: T.Type = T.self) throws -> T { try T(from: &self) }
    public mutating func readBytes() throws -> ByteBuffer {
        let count: UInt64 = try read()
        guard count <= UInt64(buffer.readableBytes), let bytes = buffer.readSlice(length: Int(count)) else {
            throw FSError(.protocolViolation, "\(count) data bytes run past the message's end")
        }
        return bytes
    }
    public mutating func readArray<T: WireCodable>(of _: T.Type = T.self) throws -> [T] {
        let count = Int(try read(UInt32.self))
        // Every element takes at least one byte, so a count beyond what is left is a lie.
        guard count <= Self.maximumCount, count <= buffer.readableBytes else {
            throw FSError(.protocolViolation, "an array of \(count) elements runs past the message's end")
        }
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try T(from: &self)) }
        return values
    }

    mutating func readInteger<T: FixedWidthInteger>() throws -> T {
        guard let value = buffer.readInteger(endianness: .little, as: T.self) else {
            throw FSError(.protocolViolation, "message ends inside a \(MemoryLayout<T>.size)-byte integer")
        }
        return value
    }
    mutating func readText() throws -> String {
        let count = Int(try read(UInt32.self))
        guard count <= Self.maximumCount, let bytes = buffer.readSlice(length: count) else {
            throw FSError(.protocolViolation, "a string of \(count) bytes runs past the message's end")
        }
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw FSError(.protocolViolation, "a string is not valid UTF-8")
        }
        return text
    }
}

// MARK: The building blocks: integers little-endian, flags, strings, optionals, arrays

extension WireCodable where Self: FixedWidthInteger {
    public func encode(into writer: inout WireWriter) { writer.writeInteger(self) }
    public init(from reader: inout WireReader) throws { self = try reader.readInteger() }
}

extension UInt8: WireCodable {}
extension UInt16: WireCodable {}
extension UInt32: WireCodable {}
extension Int32: WireCodable {}
extension UInt64: WireCodable {}
extension Int64: WireCodable {}

extension Bool: WireCodable {
    public func encode(into writer: inout WireWriter) { writer.write(UInt8(self ? 1 : 0)) }
    public init(from reader: inout WireReader) throws {
        switch try reader.read(UInt8.self) {
        case 0: self = false
        case 1: self = true
        case let other: throw FSError(.protocolViolation, "a flag of \(other) is neither 0 nor 1")
        }
    }
}

extension String: WireCodable {
    public func encode(into writer: inout WireWriter) { writer.writeText(self) }
    public init(from reader: inout WireReader) throws { self = try reader.readText() }
}

/// A flag, then the value when there is one.
extension Optional: WireCodable where Wrapped: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(self != nil)
        if let self { self.encode(into: &writer) }
    }
    public init(from reader: inout WireReader) throws {
        self = try reader.read(Bool.self) ? try Wrapped(from: &reader) : nil
    }
}

/// A count, then the elements.
extension Array: WireCodable where Element: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(UInt32(count))
        for element in self { element.encode(into: &writer) }
    }
    public init(from reader: inout WireReader) throws { self = try reader.readArray() }
}

extension ByteBuffer: WireCodable {
    public func encode(into writer: inout WireWriter) { writer.write(bytes: self) }
    public init(from reader: inout WireReader) throws { self = try reader.readBytes() }
}

// MARK: Conformances of the shared types

/// An enumeration that travels as its one-byte raw value; a byte that names
/// no case is a protocol violation that says what it was meant to be.
public protocol WireByteEnum: WireCodable, RawRepresentable where RawValue == UInt8 {
    /// What a value is, as an error about an unknown byte names it.
    static var wireName: String { get }
}

extension WireByteEnum {
    /// Writes the raw value.
    public func encode(into writer: inout WireWriter) { writer.write(rawValue) }
    /// Reads a raw value; throws `protocolViolation` for one that names no case.
    public init(from reader: inout WireReader) throws {
        let raw: UInt8 = try reader.read()
        guard let value = Self(rawValue: raw) else { throw FSError(.protocolViolation, "unknown \(Self.wireName) \(raw)") }
        self = value
    }
}

extension ExtendedAttributeName.SetMode: WireByteEnum {
    /// How an unknown byte is named in the error.
    public static let wireName = "xattr set mode"
}

extension ObjectKind: WireByteEnum {
    /// How an unknown byte is named in the error.
    public static let wireName = "object kind"
}

extension ObjectHandle: WireCodable {
    public func encode(into writer: inout WireWriter) { writer.write(rawValue) }
    public init(from reader: inout WireReader) throws { self.init(rawValue: try reader.read()) }
}

extension Timestamp: WireRecord {
    public static let wireForm = WireForm<Self>(\.seconds, \.nanoseconds, make: Self.init)
}

extension TimeChange: WireCodable {
    public func encode(into writer: inout WireWriter) {
        switch self {
        case .now: writer.write(UInt8(0))
        case .at(let time):
            writer.write(UInt8(1))
            writer.write(time)
        }
    }
    public init(from reader: inout WireReader) throws {
        let tag: UInt8 = try reader.read()
        switch tag {
        case 0: self = .now
        case 1: self = .at(try reader.read())
        default: throw FSError(.protocolViolation, "unknown time change \(tag)")
        }
    }
}

extension Credentials: WireRecord {
    public static let wireForm = WireForm<Self>(\.uid, \.gid, \.groups, make: { uid, gid, groups in
        guard groups.count <= 1024 else { throw FSError(.protocolViolation, "\(groups.count) supplementary groups") }
        return Credentials(uid: uid, gid: gid, groups: groups)
    })
}

extension Distribution: WireCodable {
    public func encode(into writer: inout WireWriter) {
        // The kind in the low four bits, a directory's chosen copies (0: the file system's own) in the high four.
        writer.write(UInt8(kind == .simpleStripe ? 1 : 2) | UInt8(copies ?? 0) << 4)
        writer.write(UInt32(firstServer))
        writer.write(UInt32(stripSizesBytes.count))
        for size in stripSizesBytes { writer.write(size) }
    }
    public init(from reader: inout WireReader) throws {
        let byte: UInt8 = try reader.read()
        let kind = byte & 0x0F, copies = byte >> 4 == 0 ? nil : Int(byte >> 4)
        let first = Int(try reader.read(UInt32.self))
        let count = Int(try reader.read(UInt32.self))
        guard count <= Distribution.maximumDatafiles else { throw FSError(.protocolViolation, "a distribution of \(count) strips") }
        let sizes = try (0..<count).map { _ in try reader.read(UInt64.self) }
        do {
            switch kind {
            case 1:
                guard let strip = sizes.first, sizes.allSatisfy({ $0 == strip }) else {
                    throw FSError(.protocolViolation, "a simple stripe with unequal strips")
                }
                self = try Distribution.simpleStripe(stripSizeBytes: strip, datafileCount: count, firstServer: first).keeping(copies: copies)
            case 2: self = try Distribution.variableStrip(stripSizesBytes: sizes, firstServer: first).keeping(copies: copies)
            default: throw FSError(.protocolViolation, "unknown distribution kind \(kind)")
            }
        } catch let error as DistributionError {
            throw FSError(.invalidArgument, error.description)
        }
    }
}

extension ObjectAttributes: WireRecord {
    public static let wireForm = WireForm<Self>(
        \.handle, \.kind, \.mode, \.uid, \.gid, \.accessTime, \.modifyTime, \.changeTime, \.linkCount, \.size, \.distribution, \.datafiles,
        \.sizeIsKnown, \.rdev, make: Self.init)
}

extension AttributeChanges: WireRecord {
    public static let wireForm = WireForm<Self>(\.mode, \.uid, \.gid, \.accessTime, \.modifyTime, \.distribution, make: Self.init)
}

extension DirectoryEntry: WireRecord {
    public static let wireForm = WireForm<Self>(\.name, \.handle, \.kind, make: Self.init)
}

extension AccessPattern.Region: WireRecord {
    public static let wireForm = WireForm<Self>(\.offset, \.length, make: Self.init)
}

extension Array where Element == ObjectHandle {
    /// The list, if it is no longer than a file's datafiles may be.
    public func checkDatafileCount() throws -> Self {
        guard count <= Distribution.maximumDatafiles else { throw FSError(.protocolViolation, "\(count) datafiles") }
        return self
    }
}

extension Array where Element == UInt32 {
    /// A fan-out's servers: at least one, at most every server there can be.
    public func checkServerList() throws -> Self {
        guard !isEmpty, count <= ObjectHandle.maximumServers else { throw FSError(.protocolViolation, "a fan-out over \(count) servers") }
        return self
    }
}

extension ByteBuffer {
    /// The same bytes read from `index`, which may lie in the room in front
    /// of the reader index (where `get` methods see nothing); no byte is copied.
    func reading(from index: Int) -> ByteBuffer {
        var whole = self
        whole.moveReaderIndex(to: index)
        return whole
    }
}
