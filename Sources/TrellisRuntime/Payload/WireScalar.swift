import NIOCore

/// A fixed-width number that travels in little-endian byte order, so typed
/// payloads read the same on every architecture.
public protocol WireScalar: Sendable, Equatable {
    /// Bytes one value takes on the wire.
    static var wireByteCount: Int { get }
    /// Writes this value, little-endian, at byte `offset` of `bytes`; the
    /// caller makes room for `wireByteCount` bytes.
    func store(into bytes: UnsafeMutableRawBufferPointer, at offset: Int)
    /// Reads a value written by `store(into:at:)` from byte `offset` of
    /// `bytes`; the offset need not be aligned.
    static func load(from bytes: UnsafeRawBufferPointer, at offset: Int) -> Self
}

extension WireScalar where Self: FixedWidthInteger {
    /// The integer's own width.
    public static var wireByteCount: Int { MemoryLayout<Self>.size }
    /// Writes the integer little-endian.
    @inline(__always)
    public func store(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.storeBytes(of: littleEndian, toByteOffset: offset, as: Self.self)
    }
    /// Reads a little-endian integer.
    @inline(__always)
    public static func load(from bytes: UnsafeRawBufferPointer, at offset: Int) -> Self {
        Self(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Self.self))
    }
}

extension Int8: WireScalar {}
extension Int16: WireScalar {}
extension Int32: WireScalar {}
extension Int64: WireScalar {}
extension UInt8: WireScalar {}
extension UInt16: WireScalar {}
extension UInt32: WireScalar {}
extension UInt64: WireScalar {}

/// `Int` travels as 64 bits.
extension Int: WireScalar {
    /// Eight bytes on every platform.
    public static var wireByteCount: Int { 8 }
    /// Writes the value as a little-endian `Int64`.
    public func store(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.storeBytes(of: Int64(self).littleEndian, toByteOffset: offset, as: Int64.self)
    }
    /// Reads a little-endian `Int64`; on a 32-bit platform a value outside `Int`'s range traps.
    public static func load(from bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        Int(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
    }
}

/// A floating-point number that travels as its IEEE 754 bit pattern,
/// little-endian; `Double` and `Float` already have the members it names.
public protocol WireFloat: WireScalar {
    /// The unsigned integer of the same width.
    associatedtype BitPattern: FixedWidthInteger & UnsignedInteger
    /// The number's IEEE 754 bits.
    var bitPattern: BitPattern { get }
    /// The number those bits make.
    init(bitPattern: BitPattern)
}

extension WireFloat {
    /// The width of the bit pattern.
    public static var wireByteCount: Int { MemoryLayout<BitPattern>.size }
    /// Writes the IEEE 754 bit pattern little-endian.
    @inline(__always)
    public func store(into bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.storeBytes(of: bitPattern.littleEndian, toByteOffset: offset, as: BitPattern.self)
    }
    /// Reads a little-endian IEEE 754 bit pattern.
    @inline(__always)
    public static func load(from bytes: UnsafeRawBufferPointer, at offset: Int) -> Self {
        Self(bitPattern: BitPattern(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: BitPattern.self)))
    }
}

extension Double: WireFloat {}
extension Float: WireFloat {}

extension ByteBuffer {
    /// A buffer holding `values` in wire order.
    public init<T: WireScalar>(wireValues values: [T]) {
        let size = values.count * T.wireByteCount
        self = ByteBufferAllocator().buffer(capacity: size)
        writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
            for (index, value) in values.enumerated() {
                value.store(into: bytes, at: index * T.wireByteCount)
            }
            return size
        }
    }

    /// The readable bytes read as values of `T`; fails when the length is
    /// not a whole number of values.
    public func wireValues<T: WireScalar>(of type: T.Type = T.self) throws -> [T] {
        let count = readableBytes / T.wireByteCount
        guard count * T.wireByteCount == readableBytes else {
            throw TrellisError(
                .invalidArgument,
                "a payload of \(readableBytes) bytes is not a whole number of \(T.self) values")
        }
        return withUnsafeReadableBytes { bytes in
            (0..<count).map { T.load(from: bytes, at: $0 * T.wireByteCount) }
        }
    }
}

import TrellisCore
