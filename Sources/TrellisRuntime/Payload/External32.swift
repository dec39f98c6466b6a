import NIOCore
import TrellisCore

/// MPI's `external32` representation (MPI_Pack_external): big-endian,
/// IEEE 754, fixed sizes, for data written to files or handed to programs
/// that expect that canonical form. Messages themselves travel in Trellis's
/// own fixed little-endian form (see `WireScalar`), which is equally
/// independent of the architecture.
public enum External32 {
    /// Encodes `values` in external32 form, each value big-endian (`Int` as 8 bytes).
    public static func pack<T: WireScalar>(_ values: [T]) -> ByteBuffer {
        var buffer = ByteBuffer(wireValues: values)
        reverseEachElement(&buffer, width: T.wireByteCount)
        return buffer
    }

    /// Decodes external32 values of `T`; throws `invalidArgument` when the
    /// length is not a whole number of values.
    public static func unpack<T: WireScalar>(_ packed: ByteBuffer, as type: T.Type = T.self) throws -> [T] {
        guard packed.readableBytes % T.wireByteCount == 0 else {
            throw TrellisError(.invalidArgument, "\(packed.readableBytes) bytes are not a whole number of \(T.wireByteCount)-byte external32 values")
        }
        var buffer = ByteBuffer(buffer: packed)
        reverseEachElement(&buffer, width: T.wireByteCount)
        return try buffer.wireValues(of: type)
    }

    private static func reverseEachElement(_ buffer: inout ByteBuffer, width: Int) {
        guard width > 1 else { return }
        buffer.withUnsafeMutableReadableBytes { bytes in
            var start = 0
            while start + width <= bytes.count {
                var low = start
                var high = start + width - 1
                while low < high {
                    bytes.swapAt(low, high)
                    low += 1
                    high -= 1
                }
                start += width
            }
        }
    }
}
