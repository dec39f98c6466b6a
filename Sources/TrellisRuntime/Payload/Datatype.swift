import NIOCore
import TrellisCore

/// A layout of bytes in memory: MPI's derived datatype, kept as what it
/// resolves to — a list of byte blocks and an extent. It describes where the
/// pieces of one noncontiguous transfer sit, at the origin or at a window's
/// target, and packs or unpacks them.
///
/// ```swift
/// // Every other 8-byte column of a 4 x 16-byte matrix:
/// let column = Datatype.vector(count: 4, blockLength: 8, stride: 16)
/// let packed = try column.pack(from: matrix)          // 32 bytes
/// try column.unpack(packed, into: &otherMatrix)
/// ```
/// Datatypes are values: making one allocates only its block list, and
/// there is no limit on how many exist at once.
public struct Datatype: Sendable, Hashable, CustomStringConvertible {
    /// One run of contiguous bytes in a layout.
    public struct Block: Sendable, Hashable {
        /// Where the block starts, in bytes from the start of the layout; never negative in a `Datatype`.
        public var offset: Int
        /// Bytes in the block; a `Datatype` drops empty blocks.
        public var length: Int
        /// A block of `length` bytes at `offset`. `Datatype.init(blocks:extent:)` rejects negative values.
        public init(offset: Int, length: Int) {
            self.offset = offset
            self.length = length
        }
    }

    /// Blocks in the order their bytes are packed.
    public let blocks: [Block]
    /// The distance from one element to the next when the type is repeated.
    public let extent: Int
    /// Bytes the layout holds (its packed size).
    public let byteCount: Int
    /// One past the last byte the layout touches.
    public let upperBound: Int

    /// A layout of `blocks`; offsets may be in any order but not negative,
    /// and empty blocks are dropped.
    public init(blocks: [Block], extent: Int? = nil) throws {
        var kept: [Block] = []
        kept.reserveCapacity(blocks.count)
        var total = 0
        var end = 0
        for block in blocks {
            guard block.offset >= 0, block.length >= 0 else {
                throw TrellisError(.invalidArgument, "datatype block at offset \(block.offset) with length \(block.length): offsets and lengths cannot be negative")
            }
            guard block.length > 0 else { continue }
            let (blockEnd, overflow) = block.offset.addingReportingOverflow(block.length)
            guard !overflow else { throw TrellisError(.invalidArgument, "datatype block at offset \(block.offset) overflows") }
            total += block.length
            end = max(end, blockEnd)
            kept.append(block)
        }
        let extent = extent ?? end
        guard extent >= end else {
            throw TrellisError(.invalidArgument, "datatype extent \(extent) is smaller than its last byte \(end)")
        }
        self.blocks = kept
        self.extent = extent
        self.byteCount = total
        self.upperBound = end
    }

    /// `count` bytes in a row.
    public static func contiguous(_ count: Int) throws -> Datatype {
        try Datatype(blocks: [Block(offset: 0, length: count)])
    }

    /// `count` blocks of `blockLength` bytes, `stride` bytes apart (MPI_Type_vector in bytes).
    public static func vector(count: Int, blockLength: Int, stride: Int) throws -> Datatype {
        guard count >= 0, stride >= blockLength else {
            throw TrellisError(.invalidArgument, "vector of \(count) blocks of \(blockLength) bytes needs a stride of at least \(blockLength), got \(stride)")
        }
        return try Datatype(blocks: (0..<count).map { Block(offset: $0 * stride, length: blockLength) })
    }

    /// Blocks at byte displacements (MPI_Type_create_hindexed).
    public static func indexed(_ blocks: [(offset: Int, length: Int)]) throws -> Datatype {
        try Datatype(blocks: blocks.map { Block(offset: $0.offset, length: $0.length) })
    }

    /// `count` copies of this layout, each `extent` bytes after the last.
    public func repeated(_ count: Int) throws -> Datatype {
        guard count >= 0 else { throw TrellisError(.invalidArgument, "cannot repeat a datatype \(count) times") }
        let (total, overflow) = extent.multipliedReportingOverflow(by: count)
        guard !overflow else { throw TrellisError(.invalidArgument, "\(count) copies of \(self) overflow") }
        var all: [Block] = []
        all.reserveCapacity(blocks.count * count)
        for copy in 0..<count {
            for block in blocks { all.append(Block(offset: block.offset + copy * extent, length: block.length)) }
        }
        return try Datatype(blocks: all, extent: total)
    }

    /// The same blocks moved `displacement` bytes on.
    public func shifted(by displacement: Int) throws -> Datatype {
        guard displacement >= 0, Int.max - displacement >= extent else {
            throw TrellisError(.invalidArgument, "\(self) cannot move \(displacement) bytes")
        }
        return try Datatype(blocks: blocks.map { Block(offset: $0.offset + displacement, length: $0.length) }, extent: extent + displacement)
    }

    /// The number of blocks, the byte count and the extent.
    public var description: String { "Datatype(\(blocks.count) blocks, \(byteCount) bytes, extent \(extent))" }

    // MARK: Packing

    /// Gathers the layout's bytes from `memory` into one buffer.
    public func pack(from memory: UnsafeRawBufferPointer) throws -> ByteBuffer {
        try checkFits(memory.count)
        var packed = ByteBufferAllocator().buffer(capacity: byteCount)
        for block in blocks {
            packed.writeBytes(UnsafeRawBufferPointer(rebasing: memory[block.offset..<block.offset + block.length]))
        }
        return packed
    }

    /// Gathers the layout's bytes from an array; throws `invalidArgument`
    /// when the layout reaches past its end.
    public func pack(from memory: [UInt8]) throws -> ByteBuffer {
        try memory.withUnsafeBytes { try pack(from: $0) }
    }

    /// Scatters `packed` (exactly `byteCount` bytes) into the layout's places in `memory`.
    public func unpack(_ packed: ByteBuffer, into memory: UnsafeMutableRawBufferPointer) throws {
        guard packed.readableBytes == byteCount else {
            throw TrellisError(.invalidArgument, "\(self) unpacks \(byteCount) bytes, got \(packed.readableBytes)")
        }
        try checkFits(memory.count)
        packed.withUnsafeReadableBytes { source in
            var read = 0
            for block in blocks {
                memory.baseAddress!.advanced(by: block.offset).copyMemory(from: source.baseAddress! + read, byteCount: block.length)
                read += block.length
            }
        }
    }

    /// Scatters `packed` (exactly `byteCount` bytes) into the layout's places in an array; throws
    /// `invalidArgument` when the length differs or the layout reaches past the array's end.
    public func unpack(_ packed: ByteBuffer, into memory: inout [UInt8]) throws {
        try memory.withUnsafeMutableBytes { try unpack(packed, into: $0) }
    }

    private func checkFits(_ memoryCount: Int) throws {
        guard upperBound <= memoryCount else {
            throw TrellisError(.invalidArgument, "\(self) reaches byte \(upperBound) of a \(memoryCount)-byte buffer")
        }
    }
}
