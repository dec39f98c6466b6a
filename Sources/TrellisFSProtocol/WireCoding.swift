import NIOCore
import TrellisFSDistribution

/// A value with a fixed binary form: integers fixed-width little-endian,
/// strings and arrays length-prefixed. Decoding checks every length against
/// what is left, so a malformed message is an error, never a crash.
public protocol WireCodable {
    func encode(into writer: inout WireWriter)
    init(from reader: inout WireReader) throws
}

public struct WireWriter {
    public private(set) var buffer: ByteBuffer

    public init(capacity: Int = 128) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    public mutating func write<T: FixedWidthInteger>(_ value: T) { buffer.writeInteger(value, endianness: .little) }
    public mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }
    public mutating func write(_ value: String) {
        write(UInt32(value.utf8.count))
        buffer.writeString(value)
    }
    public mutating func write(bytes: ByteBuffer) {
        var bytes = bytes
        write(UInt64(bytes.readableBytes))
        buffer.writeBuffer(&bytes)
    }
    public mutating func write<T: WireCodable>(_ value: T) { value.encode(into: &self) }
    public mutating func write<T: WireCodable>(_ values: [T]) {
        write(UInt32(values.count))
        for value in values { value.encode(into: &self) }
    }
    public mutating func write<T: WireCodable>(optional value: T?) {
        write(value != nil)
        if let value { value.encode(into: &self) }
    }
    public mutating func write<T: FixedWidthInteger>(optional value: T?) {
        write(value != nil)
        if let value { write(value) }
    }
}

public struct WireReader {
    public private(set) var buffer: ByteBuffer
    /// The longest string or array accepted, against hostile lengths.
    public static let maximumCount = 1 << 24

    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    public var isAtEnd: Bool { buffer.readableBytes == 0 }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        guard let value = buffer.readInteger(endianness: .little, as: T.self) else {
            throw FSError(.protocolViolation, "message ends inside a \(MemoryLayout<T>.size)-byte integer")
        }
        return value
    }
    public mutating func readBool() throws -> Bool {
        switch try read(UInt8.self) {
        case 0: return false
        case 1: return true
        case let other: throw FSError(.protocolViolation, "a flag of \(other) is neither 0 nor 1")
        }
    }
    public mutating func readString() throws -> String {
        let count = Int(try read(UInt32.self))
        guard count <= Self.maximumCount, let bytes = buffer.readSlice(length: count) else {
            throw FSError(.protocolViolation, "a string of \(count) bytes runs past the message's end")
        }
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw FSError(.protocolViolation, "a string is not valid UTF-8")
        }
        return text
    }
    public mutating func readBytes() throws -> ByteBuffer {
        let count = try read(UInt64.self)
        guard count <= UInt64(buffer.readableBytes), let bytes = buffer.readSlice(length: Int(count)) else {
            throw FSError(.protocolViolation, "\(count) data bytes run past the message's end")
        }
        return bytes
    }
    public mutating func read<T: WireCodable>(_: T.Type = T.self) throws -> T { try T(from: &self) }
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
    public mutating func readOptional<T: WireCodable>(_: T.Type = T.self) throws -> T? {
        try readBool() ? try T(from: &self) : nil
    }
    public mutating func readOptional<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T? {
        try readBool() ? try read(T.self) : nil
    }
}

// MARK: Conformances of the shared types

extension ObjectHandle: WireCodable {
    public func encode(into writer: inout WireWriter) { writer.write(rawValue) }
    public init(from reader: inout WireReader) throws { self.init(rawValue: try reader.read()) }
}

extension ObjectKind: WireCodable {
    public func encode(into writer: inout WireWriter) { writer.write(rawValue) }
    public init(from reader: inout WireReader) throws {
        let raw: UInt8 = try reader.read()
        guard let kind = ObjectKind(rawValue: raw) else { throw FSError(.protocolViolation, "unknown object kind \(raw)") }
        self = kind
    }
}

extension Timestamp: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(seconds)
        writer.write(nanoseconds)
    }
    public init(from reader: inout WireReader) throws {
        self.init(seconds: try reader.read(), nanoseconds: try reader.read())
    }
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

extension Credentials: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(uid)
        writer.write(gid)
        writer.write(UInt32(groups.count))
        for group in groups { writer.write(group) }
    }
    public init(from reader: inout WireReader) throws {
        let uid: UInt32 = try reader.read()
        let gid: UInt32 = try reader.read()
        let count = Int(try reader.read(UInt32.self))
        guard count <= 1024 else { throw FSError(.protocolViolation, "\(count) supplementary groups") }
        self.init(uid: uid, gid: gid, groups: try (0..<count).map { _ in try reader.read(UInt32.self) })
    }
}

extension Distribution: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(UInt8(kind == .simpleStripe ? 1 : 2))
        writer.write(UInt32(firstServer))
        writer.write(UInt32(stripSizesBytes.count))
        for size in stripSizesBytes { writer.write(size) }
    }
    public init(from reader: inout WireReader) throws {
        let kind: UInt8 = try reader.read()
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
                self = try .simpleStripe(stripSizeBytes: strip, datafileCount: count, firstServer: first)
            case 2: self = try .variableStrip(stripSizesBytes: sizes, firstServer: first)
            default: throw FSError(.protocolViolation, "unknown distribution kind \(kind)")
            }
        } catch let error as DistributionError {
            throw FSError(.invalidArgument, error.description)
        }
    }
}

extension ObjectAttributes: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(handle)
        writer.write(kind)
        writer.write(mode)
        writer.write(uid)
        writer.write(gid)
        writer.write(accessTime)
        writer.write(modifyTime)
        writer.write(changeTime)
        writer.write(linkCount)
        writer.write(size)
        writer.write(optional: distribution)
        writer.write(datafiles)
        writer.write(sizeIsKnown)
        writer.write(rdev)
    }
    public init(from reader: inout WireReader) throws {
        self.init(
            handle: try reader.read(), kind: try reader.read(), mode: try reader.read(), uid: try reader.read(),
            gid: try reader.read(), accessTime: try reader.read(), modifyTime: try reader.read(),
            changeTime: try reader.read(), linkCount: try reader.read(), size: try reader.read(),
            distribution: try reader.readOptional(Distribution.self), datafiles: try reader.readArray(),
            sizeIsKnown: try reader.readBool(), rdev: try reader.read())
    }
}

extension AttributeChanges: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(optional: mode)
        writer.write(optional: uid)
        writer.write(optional: gid)
        writer.write(optional: accessTime)
        writer.write(optional: modifyTime)
        writer.write(optional: distribution)
    }
    public init(from reader: inout WireReader) throws {
        self.init(
            mode: try reader.readOptional(UInt32.self), uid: try reader.readOptional(UInt32.self), gid: try reader.readOptional(UInt32.self),
            accessTime: try reader.readOptional(TimeChange.self), modifyTime: try reader.readOptional(TimeChange.self),
            distribution: try reader.readOptional(Distribution.self))
    }
}

extension DirectoryEntry: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(name)
        writer.write(handle)
        writer.write(kind)
    }
    public init(from reader: inout WireReader) throws {
        self.init(name: try reader.readString(), handle: try reader.read(), kind: try reader.read())
    }
}

extension AccessPattern.Region: WireCodable {
    public func encode(into writer: inout WireWriter) {
        writer.write(offset)
        writer.write(length)
    }
    public init(from reader: inout WireReader) throws {
        self.init(offset: try reader.read(), length: try reader.read())
    }
}
