import TrellisCore

/// The fixed-width, little-endian header that starts every frame on a
/// connection. Being fixed width and byte-order explicit, it reads the same
/// on every architecture (§5 of the persistent-services paper, Latham, Ross
/// and Thakur, "Can MPI Be Used for Persistent Parallel Services?").
///
/// Layout (56 bytes):
/// ```
///  0 version  u8      1 kind      u8      2 flags     u16
///  4 tag      i32     8 ctxOwner  u64    16 ctxSerial u64
/// 24 source   u32    28 reserved  u32    32 length    u64
/// 40 exchange u64    48 aux       u64
/// ```
public struct FrameHeader: Equatable, Sendable {
    /// Size of an encoded header in bytes; the payload, if any, follows it.
    public static let byteCount = 56
    /// The header version this build writes and the only one `decode` accepts.
    public static let currentVersion: UInt8 = 3

    /// Header format version; a reader refuses any other than `currentVersion`.
    public var version: UInt8 = FrameHeader.currentVersion
    /// What the frame carries, which also says how to read `tag`, `exchange` and `aux`.
    public var kind: FrameKind
    /// Bits qualifying the frame, such as `collective`.
    public var flags: FrameFlags = []
    /// For messages, the sender's message tag; for `control` and `oneSided` frames,
    /// the operation (`ControlOperation`, `OneSidedOperation`).
    public var tag: Int32 = 0
    /// The communicator (or, for one-sided frames, the window) the frame belongs to;
    /// messages match only within it.
    public var context: ContextID = ContextID(owner: 0, serial: 0)
    /// For messages, the sender's rank in the communicator of `context`.
    public var sourceRank: UInt32 = 0
    /// Number of payload bytes that follow this header in the same frame.
    public var payloadLength: UInt64 = 0
    /// Names one rendezvous exchange: the sender's id in `readyToSend` and
    /// `clearToSend`, the receiver's id in `rendezvousData`.
    public var exchange: UInt64 = 0
    /// A second exchange id or operation-specific value.
    public var aux: UInt64 = 0

    /// Makes a header of the given kind; fields left out are zero or empty.
    public init(
        kind: FrameKind, flags: FrameFlags = [], tag: Int32 = 0, context: ContextID = ContextID(owner: 0, serial: 0),
        sourceRank: UInt32 = 0, payloadLength: UInt64 = 0, exchange: UInt64 = 0, aux: UInt64 = 0
    ) {
        self.kind = kind
        self.flags = flags
        self.tag = tag
        self.context = context
        self.sourceRank = sourceRank
        self.payloadLength = payloadLength
        self.exchange = exchange
        self.aux = aux
    }

    /// Writes exactly `byteCount` bytes at the start of `bytes`.
    public func encode(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.byteCount, "frame header needs \(Self.byteCount) bytes")
        bytes.storeBytes(of: version, toByteOffset: 0, as: UInt8.self)
        bytes.storeBytes(of: kind.rawValue, toByteOffset: 1, as: UInt8.self)
        bytes.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 2, as: UInt16.self)
        bytes.storeBytes(of: tag.littleEndian, toByteOffset: 4, as: Int32.self)
        bytes.storeBytes(of: context.owner.littleEndian, toByteOffset: 8, as: UInt64.self)
        bytes.storeBytes(of: context.serial.littleEndian, toByteOffset: 16, as: UInt64.self)
        bytes.storeBytes(of: sourceRank.littleEndian, toByteOffset: 24, as: UInt32.self)
        bytes.storeBytes(of: UInt32(0), toByteOffset: 28, as: UInt32.self)
        bytes.storeBytes(of: payloadLength.littleEndian, toByteOffset: 32, as: UInt64.self)
        bytes.storeBytes(of: exchange.littleEndian, toByteOffset: 40, as: UInt64.self)
        bytes.storeBytes(of: aux.littleEndian, toByteOffset: 48, as: UInt64.self)
    }

    /// The header as a new `byteCount`-byte array.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.byteCount)
        bytes.withUnsafeMutableBytes { encode(into: $0) }
        return bytes
    }

    /// Reads a header from the first `byteCount` bytes, rejecting unknown
    /// versions and kinds rather than guessing.
    public static func decode(from bytes: UnsafeRawBufferPointer) throws -> FrameHeader {
        guard bytes.count >= byteCount else {
            throw TrellisError(.protocolViolation, "frame header needs \(byteCount) bytes, got \(bytes.count)")
        }
        let version = bytes.loadUnaligned(fromByteOffset: 0, as: UInt8.self)
        guard version == currentVersion else {
            throw TrellisError(.protocolViolation, "unsupported frame version \(version)")
        }
        let kindByte = bytes.loadUnaligned(fromByteOffset: 1, as: UInt8.self)
        guard let kind = FrameKind(rawValue: kindByte) else {
            throw TrellisError(.protocolViolation, "unknown frame kind \(kindByte)")
        }
        func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        return FrameHeader(
            kind: kind,
            flags: FrameFlags(rawValue: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self))),
            tag: Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: Int32.self)),
            context: ContextID(owner: u64(8), serial: u64(16)),
            sourceRank: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
            payloadLength: u64(32),
            exchange: u64(40),
            aux: u64(48))
    }

    /// Reads a header from the first `byteCount` bytes of an array; throws
    /// `protocolViolation` like `decode(from:)`.
    public static func decode(_ bytes: [UInt8]) throws -> FrameHeader {
        try bytes.withUnsafeBytes { try decode(from: $0) }
    }
}
