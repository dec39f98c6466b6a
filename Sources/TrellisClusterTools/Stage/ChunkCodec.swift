import CZstd
import NIOCore
import TrellisCore

/// The wire form of one chunk of a stage's stream: a byte that says how it
/// travels, then the bytes. With compression on, a chunk goes compressed by
/// zstd only when that saves at least an eighth, so that incompressible
/// data (media, archives) costs one failed attempt and no inflation.
final class ChunkCodec {
    enum Form: UInt8 {
        case raw = 0
        case zstd = 1
    }

    private let compressing: Bool
    private let level: Int32
    private var compressor: OpaquePointer?
    private var decompressor: OpaquePointer?

    init(compressing: Bool, level: Int32 = 1) {
        self.compressing = compressing
        self.level = level
    }

    deinit {
        if let compressor { ZSTD_freeCCtx(compressor) }
        if let decompressor { ZSTD_freeDCtx(decompressor) }
    }

    /// A raw chunk as it travels: the form byte, then the bytes (a copy; the
    /// stage's reader writes chunks this way in the first place).
    static func framed(_ raw: ByteBuffer) -> ByteBuffer {
        var plain = ByteBufferAllocator().buffer(capacity: raw.readableBytes + 1)
        plain.writeInteger(Form.raw.rawValue)
        plain.writeImmutableBuffer(raw)
        return plain
    }

    /// `framed` (a raw chunk with its form byte) compressed when that is worth
    /// it, else `framed` itself, not copied.
    func encode(_ framed: ByteBuffer) -> ByteBuffer {
        guard compressing, framed.readableBytes > 1 else { return framed }
        let raw = framed.getSlice(at: framed.readerIndex + 1, length: framed.readableBytes - 1)!
        if compressor == nil { compressor = ZSTD_createCCtx() }
        let bound = ZSTD_compressBound(raw.readableBytes)
        var packed = ByteBufferAllocator().buffer(capacity: bound + 5)
        packed.writeInteger(Form.zstd.rawValue)
        packed.writeInteger(UInt32(raw.readableBytes), endianness: .little)
        let size = raw.withUnsafeReadableBytes { source in
            packed.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space -> Int in
                let written = ZSTD_compressCCtx(compressor, space.baseAddress, space.count, source.baseAddress, source.count, level)
                return ZSTD_isError(written) != 0 ? 0 : written
            }
        }
        return size > 0 && size <= raw.readableBytes - raw.readableBytes / 8 ? packed : framed
    }

    func decode(_ original: ByteBuffer) throws -> ByteBuffer {
        var message = original
        guard let byte = message.readInteger(as: UInt8.self), let form = Form(rawValue: byte) else {
            throw TrellisError(.protocolViolation, "a stage chunk of an unknown form")
        }
        switch form {
        case .raw:
            return message
        case .zstd:
            guard let length = message.readInteger(endianness: .little, as: UInt32.self) else {
                throw TrellisError(.protocolViolation, "a compressed stage chunk without its length")
            }
            if decompressor == nil { decompressor = ZSTD_createDCtx() }
            var plain = ByteBufferAllocator().buffer(capacity: Int(length))
            let result = message.withUnsafeReadableBytes { source in
                plain.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(length)) { space -> Int in
                    let written = ZSTD_decompressDCtx(decompressor, space.baseAddress, Int(length), source.baseAddress, source.count)
                    return ZSTD_isError(written) != 0 ? 0 : written
                }
            }
            guard result == Int(length) else {
                throw TrellisError(.protocolViolation, "a compressed stage chunk that does not decompress to its \(length) bytes")
            }
            return plain
        }
    }
}
