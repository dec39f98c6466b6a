import NIOCore
import TrellisCore
import TrellisWire

/// The payload of a `put`, `get` or `accumulate` frame: where in the target
/// segment, how to combine, and the data.
///
/// Layout (little-endian): `u32 regionCount`, `u8 operation`, `u8 element
/// kind`, `u8 fetch`, `u8 0`, then `regionCount` pairs of `u64 offset, u64
/// length`, then the data (put and accumulate), packed in region order.
struct OneSidedAccess {
    struct Combine {
        var operation: AccumulateOperation
        var kind: AccumulateElementKind
        var fetch: Bool
    }

    var regions: [Datatype.Block]
    var combine: Combine?
    var data: ByteBuffer

    var regionBytes: Int { regions.reduce(0) { $0 + $1.length } }

    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 8 + regions.count * 16 + data.readableBytes)
        buffer.writeInteger(UInt32(regions.count), endianness: .little)
        buffer.writeInteger(combine?.operation.rawValue ?? 0)
        buffer.writeInteger(combine?.kind.rawValue ?? 0)
        buffer.writeInteger(UInt8(combine?.fetch == true ? 1 : 0))
        buffer.writeInteger(UInt8(0))
        for region in regions {
            buffer.writeInteger(UInt64(region.offset), endianness: .little)
            buffer.writeInteger(UInt64(region.length), endianness: .little)
        }
        var data = data
        buffer.writeBuffer(&data)
        return buffer
    }

    /// Reads and checks a payload; every inconsistency is an error that
    /// names it, never a crash.
    static func decode(_ payload: ByteBuffer, for operation: OneSidedOperation) throws -> OneSidedAccess {
        var payload = payload
        guard let count = payload.readInteger(endianness: .little, as: UInt32.self),
            let operationByte = payload.readInteger(as: UInt8.self),
            let kindByte = payload.readInteger(as: UInt8.self),
            let fetchByte = payload.readInteger(as: UInt8.self),
            payload.readInteger(as: UInt8.self) != nil
        else { throw malformed("is shorter than its 8-byte preamble") }
        guard Int(count) <= payload.readableBytes / 16 else {
            throw malformed("announces \(count) regions but carries \(payload.readableBytes) bytes")
        }
        var regions: [Datatype.Block] = []
        regions.reserveCapacity(Int(count))
        for _ in 0..<count {
            let offset = payload.readInteger(endianness: .little, as: UInt64.self)!
            let length = payload.readInteger(endianness: .little, as: UInt64.self)!
            guard offset <= UInt64(Int.max / 2), length <= UInt64(Int.max / 2) else {
                throw malformed("has a region at \(offset) of \(length) bytes, beyond any segment")
            }
            regions.append(Datatype.Block(offset: Int(offset), length: Int(length)))
        }
        var combine: Combine?
        if operation == .accumulate {
            guard let accumulate = AccumulateOperation(rawValue: operationByte), let kind = AccumulateElementKind(rawValue: kindByte) else {
                throw malformed("names unknown accumulate operation \(operationByte) or element kind \(kindByte)")
            }
            guard regions.allSatisfy({ $0.length % kind.byteCount == 0 }) else {
                throw malformed("has regions that are not whole \(kind.byteCount)-byte elements")
            }
            combine = Combine(operation: accumulate, kind: kind, fetch: fetchByte != 0)
        }
        let access = OneSidedAccess(regions: regions, combine: combine, data: payload)
        if operation != .get, access.regionBytes != payload.readableBytes {
            throw malformed("covers \(access.regionBytes) bytes of regions with \(payload.readableBytes) bytes of data")
        }
        if operation == .get, payload.readableBytes != 0 {
            throw malformed("is a get carrying \(payload.readableBytes) bytes of data")
        }
        return access
    }

    private static func malformed(_ problem: String) -> TrellisError {
        TrellisError(.protocolViolation, "one-sided request payload \(problem)")
    }
}
