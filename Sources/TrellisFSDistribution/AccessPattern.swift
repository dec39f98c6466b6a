/// Noncontiguous access in one call: a list of logical regions, or the
/// strided partition of the PVFS paper (Carns, Ligon, Ross and Thakur, "PVFS:
/// A Parallel File System for Linux Clusters"; PVFS's offset, gsize, stride).
public struct AccessPattern: Sendable, Hashable {
    /// A run of logical bytes of the file.
    public struct Region: Sendable, Hashable {
        /// Where it starts in the file.
        public var offset: UInt64
        /// How many bytes.
        public var length: UInt64
        /// The bytes from `offset`, `length` of them.
        public init(offset: UInt64, length: UInt64) {
            self.offset = offset
            self.length = length
        }
    }

    /// Regions in the order their bytes fill (or come from) the caller's buffer.
    public let regions: [Region]
    /// Bytes of all regions together: the size of the caller's buffer.
    public let byteCount: UInt64

    /// The regions in buffer order (empty ones dropped); throws when one reaches past the largest offset.
    public init(regions: [Region]) throws {
        var total: UInt64 = 0
        for region in regions {
            guard region.offset <= Distribution.maximumOffset, region.length <= Distribution.maximumOffset - region.offset else {
                throw DistributionError("region \(region.offset) + \(region.length) is beyond the largest offset")
            }
            total += region.length
            guard total <= Distribution.maximumOffset else { throw DistributionError("regions add up to more than \(Distribution.maximumOffset) bytes") }
        }
        self.regions = regions.filter { $0.length > 0 }
        self.byteCount = total
    }

    /// One region: `length` bytes from `offset`.
    public static func contiguous(offset: UInt64, length: UInt64) throws -> AccessPattern {
        try AccessPattern(regions: [Region(offset: offset, length: length)])
    }

    /// `count` groups of `groupSize` bytes, `stride` bytes apart from `offset`:
    /// the partition of the PVFS paper (PVFS1's `offset`, `gsize`, `stride`), by
    /// which each process of a job sees its own interleaved part of a file.
    public static func strided(offset: UInt64, groupSize: UInt64, stride: UInt64, count: UInt64) throws -> AccessPattern {
        guard stride >= groupSize else { throw DistributionError("a stride of \(stride) is smaller than its group size \(groupSize)") }
        guard count <= 1 << 24 else { throw DistributionError("\(count) groups is too many for one call") }
        let (span, overflow) = stride.multipliedReportingOverflow(by: count)
        guard !overflow, span <= Distribution.maximumOffset else { throw DistributionError("\(count) groups of stride \(stride) overflow") }
        return try AccessPattern(regions: (0..<count).map { Region(offset: offset + $0 * stride, length: groupSize) })
    }

    /// A run of bytes between the caller's buffer and one datafile.
    public struct Transfer: Sendable, Hashable {
        /// The datafile (index in the file's list).
        public var datafile: Int
        /// Where the bytes sit in that datafile.
        public var physicalOffset: UInt64
        /// Where the bytes sit in the caller's buffer (regions packed in order).
        public var bufferOffset: UInt64
        /// How many bytes.
        public var length: UInt64
    }

    /// Every region split over the distribution's datafiles, in buffer order.
    public func transfers(in distribution: Distribution) throws -> [Transfer] {
        var result: [Transfer] = []
        var bufferOffset: UInt64 = 0
        for region in regions {
            for piece in try distribution.pieces(offset: region.offset, length: region.length) {
                result.append(Transfer(
                    datafile: piece.datafile, physicalOffset: piece.physicalOffset,
                    bufferOffset: bufferOffset + (piece.logicalOffset - region.offset), length: piece.length))
            }
            bufferOffset += region.length
        }
        return result
    }
}
