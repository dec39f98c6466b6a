import NIOCore
import TrellisFSDistribution

/// ROMIO's data sieving for reads (Thakur, Gropp and Lusk, "Data Sieving and
/// Collective I/O in ROMIO"): many small regions close together cost one
/// large read of the span that holds them, of at most `bufferBytes`, from
/// which their bytes are taken, rather than a request each. For storage
/// that has no list I/O (a POSIX file); Trellis reads a list in one call.
enum DataSieving {
    /// The regions' bytes, packed, cut where the file ends, read in spans of at most `bufferBytes`.
    static func read(_ regions: [AccessPattern.Region], from storage: FileStorage, bufferBytes: Int) throws -> ByteBuffer {
        var packed = ByteBufferAllocator().buffer(capacity: regions.reduce(0) { $0 + Int($1.length) })
        for group in spans(of: regions, bufferBytes: UInt64(bufferBytes)) {
            let start = group.first!.offset
            let end = group.last!.offset + group.last!.length
            let span = try storage.read([AccessPattern.Region(offset: start, length: end - start)])
            for region in group {
                let from = Int(region.offset - start)
                let available = max(0, min(Int(region.length), span.readableBytes - from))
                if available > 0 { packed.writeImmutableBuffer(span.getSlice(at: span.readerIndex + from, length: available)!) }
                // The end of the file: no later region has bytes either.
                if available < Int(region.length) { return packed }
            }
        }
        return packed
    }

    /// The regions cut into runs whose span is at most `bufferBytes` (a
    /// region larger than that alone is a run of its own).
    static func spans(of regions: [AccessPattern.Region], bufferBytes: UInt64) -> [[AccessPattern.Region]] {
        var groups: [[AccessPattern.Region]] = []
        for region in regions {
            if let first = groups.last?.first, region.offset + region.length - first.offset <= bufferBytes, region.offset >= first.offset {
                groups[groups.count - 1].append(region)
            } else {
                groups.append([region])
            }
        }
        return groups
    }
}
