import TrellisCore
import TrellisFSDistribution
import TrellisRuntime

/// What part of a file a rank sees, and in what order (MPI_File_set_view):
/// from `displacement` bytes on, the file is tiled with copies of
/// `filetype`, one every `filetype.extent` bytes, and the rank's data fill
/// the filetype's blocks in order; offsets and counts are in `etype`s. The
/// default view is every byte of the file, in order.
///
/// ```swift
/// // Rank r of n sees every n-th 4-byte record, starting with record r:
/// let record = try Datatype.contiguous(4)
/// let mine = try Datatype.indexed([(offset: 4 * r, length: 4)]).resized(extent: 4 * n)
/// let view = try FileView(displacement: 0, etype: record, filetype: mine)
/// view.regions(at: 0, bytes: 8)   // [4r, 4r + 4) and [4r + 4n, 4r + 4n + 4)
/// ```
public struct FileView: Sendable, Hashable {
    /// Bytes from the start of the file where the first filetype begins.
    public let displacement: UInt64
    /// The unit of offsets and counts (its bytes; MPI's elementary type).
    public let etype: Datatype
    /// The layout repeated over the file from `displacement`.
    public let filetype: Datatype
    /// Data bytes before each block of the filetype (its last entry: all of them).
    private let dataBefore: [Int]

    /// Every byte, in order.
    public static let whole = try! FileView(displacement: 0, etype: .contiguous(1), filetype: .contiguous(1))

    /// A view; throws `invalidArgument` when the filetype holds no data or
    /// not a whole number of etypes, when its blocks go backwards or overlap
    /// (MPI asks file views to be monotonic), or when an etype is empty.
    public init(displacement: UInt64, etype: Datatype, filetype: Datatype) throws {
        guard etype.byteCount > 0 else { throw TrellisError(.invalidArgument, "a view's etype holds no bytes") }
        guard filetype.byteCount > 0, filetype.byteCount % etype.byteCount == 0 else {
            throw TrellisError(.invalidArgument, "a filetype of \(filetype.byteCount) bytes is not a whole number of \(etype.byteCount)-byte etypes")
        }
        guard filetype.extent >= filetype.upperBound else {
            throw TrellisError(.invalidArgument, "a filetype whose extent (\(filetype.extent)) is less than its reach (\(filetype.upperBound)) would overlap its next copy")
        }
        var previousEnd = 0
        var before: [Int] = []
        var total = 0
        for block in filetype.blocks {
            guard block.offset >= previousEnd else {
                throw TrellisError(.invalidArgument, "a filetype's blocks must go forward without overlapping (one at \(block.offset) follows one ending at \(previousEnd))")
            }
            before.append(total)
            total += block.length
            previousEnd = block.offset + block.length
        }
        before.append(total)
        self.displacement = displacement
        self.etype = etype
        self.filetype = filetype
        dataBefore = before
    }

    /// Whether the view is the file's bytes in order from its displacement (one region for any access).
    public var isContiguous: Bool {
        filetype.blocks.count == 1 && filetype.blocks[0].offset == 0 && filetype.blocks[0].length == filetype.extent
    }

    /// The file's byte regions holding `bytes` bytes of the view from byte
    /// `position` of it (an offset in etypes times the etype's size), in
    /// the order the data fill them; adjacent regions are merged.
    public func regions(at position: UInt64, bytes: UInt64) -> [AccessPattern.Region] {
        guard bytes > 0 else { return [] }
        if isContiguous { return [AccessPattern.Region(offset: displacement + position, length: bytes)] }
        let tileBytes = UInt64(filetype.byteCount)
        let extent = UInt64(filetype.extent)
        var tile = position / tileBytes
        var within = Int(position % tileBytes)
        // The block holding byte `within` of a tile's data: the last whose data start at or before it.
        var block = dataBefore.lastIndex(where: { $0 <= within })!
        if block == filetype.blocks.count { block -= 1 }
        var left = bytes
        var regions: [AccessPattern.Region] = []
        while left > 0 {
            let piece = filetype.blocks[block]
            let into = within - dataBefore[block]
            let length = min(UInt64(piece.length - into), left)
            let offset = displacement + tile * extent + UInt64(piece.offset + into)
            if let last = regions.last, last.offset + last.length == offset {
                regions[regions.count - 1].length += length
            } else {
                regions.append(AccessPattern.Region(offset: offset, length: length))
            }
            left -= length
            block += 1
            if block == filetype.blocks.count {
                block = 0
                tile += 1
            }
            within = dataBefore[block]
        }
        return regions
    }
}
