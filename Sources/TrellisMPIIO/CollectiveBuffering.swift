import NIOCore
import TrellisFSDistribution
import TrellisRuntime

/// ROMIO's two-phase collective I/O (Thakur, Gropp and Lusk, "Data Sieving
/// and Collective I/O in ROMIO"; Thakur and Choudhary's extended two-phase
/// method). The span the ranks' accesses cover together is cut into one
/// file domain per aggregator, aligned to the file's strips; every rank
/// sends each aggregator the pieces of its access in that domain (one
/// all-to-all), and the aggregators make few large requests to storage
/// where the ranks would have made many small, interleaved ones. Reads go
/// the other way: requests to the aggregators, bytes back.
struct CollectiveBuffering {
    /// A rank's piece of an access that lies in one file domain, and where its bytes sit in the rank's buffer.
    struct Piece {
        var region: AccessPattern.Region
        var bufferOffset: Int
    }

    let communicator: Communicator
    /// The ranks that aggregate, in domain order.
    let aggregators: [Int]
    /// Where the first domain starts.
    let start: UInt64
    /// Bytes per domain (the last may be shorter).
    let domainBytes: UInt64

    /// Pieces at least this large on average go straight to storage that
    /// takes lists (a Trellis file) even when they interleave: there the
    /// exchange costs more than it merges.
    static let directPieceBytes: UInt64 = 32 << 10

    /// The plan for one collective call, or nil when each rank should do
    /// its own part: `choice` disables it, or (automatic) the ranks'
    /// accesses are each contiguous and do not interleave, or (automatic,
    /// on storage with list I/O) their pieces are large, or no rank accesses anything.
    static func plan(
        _ communicator: Communicator, regions: [AccessPattern.Region], choice: IOHints.Choice, aggregatorCount: Int?, stripeBytes: UInt64?,
        takesLists: Bool
    ) throws -> CollectiveBuffering? {
        let first = regions.first?.offset ?? UInt64.max
        let last = regions.last.map { $0.offset + $0.length } ?? 0
        let bytes = regions.reduce(0) { $0 + $1.length }
        let ranges = try communicator.allgather([first, last, regions.count > 1 ? 1 : 0, bytes, UInt64(regions.count)])
        let touched = ranges.filter { $0[0] < $0[1] }
        guard choice != .disable, !touched.isEmpty else { return nil }
        if choice == .automatic {
            let sorted = touched.sorted { $0[0] < $1[0] }
            let interleaved = zip(sorted, sorted.dropFirst()).contains { $1[0] < $0[1] }
            let noncontiguous = touched.contains { $0[2] == 1 }
            guard interleaved || noncontiguous else { return nil }
            let meanPiece = touched.reduce(0) { $0 + $1[3] } / max(touched.reduce(0) { $0 + $1[4] }, 1)
            if takesLists, meanPiece >= directPieceBytes { return nil }
        }
        var start = touched.map { $0[0] }.min()!
        let end = touched.map { $0[1] }.max()!
        let count = max(1, min(aggregatorCount ?? communicator.size, communicator.size))
        // Spread over the ranks, as ROMIO spreads aggregators over nodes.
        let aggregators = (0..<count).map { $0 * communicator.size / count }
        var domainBytes = (end - start + UInt64(count) - 1) / UInt64(count)
        if let stripe = stripeBytes, stripe > 0 {
            // Whole strips per domain: each aggregator's requests then go to as few servers as they can.
            start -= start % stripe
            domainBytes = max(stripe, (end - start + UInt64(count) - 1) / UInt64(count))
            domainBytes = (domainBytes + stripe - 1) / stripe * stripe
        }
        return CollectiveBuffering(communicator: communicator, aggregators: aggregators, start: start, domainBytes: max(domainBytes, 1))
    }

    /// `regions` cut at domain boundaries, grouped by domain, in order, with their buffer offsets.
    func pieces(of regions: [AccessPattern.Region]) -> [[Piece]] {
        var byDomain = [[Piece]](repeating: [], count: aggregators.count)
        var bufferOffset = 0
        for region in regions {
            var offset = region.offset
            let end = region.offset + region.length
            while offset < end {
                let domain = min(Int((offset - start) / domainBytes), aggregators.count - 1)
                let domainEnd = domain == aggregators.count - 1 ? end : min(end, start + UInt64(domain + 1) * domainBytes)
                let length = domainEnd - offset
                byDomain[domain].append(Piece(region: AccessPattern.Region(offset: offset, length: length), bufferOffset: bufferOffset))
                bufferOffset += Int(length)
                offset = domainEnd
            }
        }
        return byDomain
    }

    /// This rank's domain, when it aggregates.
    var myDomain: Int? { aggregators.firstIndex(of: communicator.rank) }

    // MARK: Writes

    /// Sends every aggregator this rank's pieces in its domain with their
    /// bytes; an aggregator gets everyone's, and returns them as one
    /// buffer in file order with the merged regions it fills. Every rank
    /// calls it (nil for a rank that does not aggregate).
    func exchangeForWrite(_ data: ByteBuffer, regions: [AccessPattern.Region]) throws -> (data: ByteBuffer, regions: [AccessPattern.Region])? {
        var outgoing = [ByteBuffer](repeating: ByteBuffer(), count: communicator.size)
        for (domain, pieces) in pieces(of: regions).enumerated() where !pieces.isEmpty {
            var message = ByteBufferAllocator().buffer(capacity: 4 + pieces.count * 16 + pieces.reduce(0) { $0 + Int($1.region.length) })
            Self.writeRegions(pieces.map(\.region), into: &message)
            for piece in pieces { message.writeImmutableBuffer(data.getSlice(at: data.readerIndex + piece.bufferOffset, length: Int(piece.region.length))!) }
            outgoing[aggregators[domain]] = message
        }
        let incoming = try communicator.alltoall(outgoing)
        guard myDomain != nil else { return nil }
        var received: [(region: AccessPattern.Region, bytes: ByteBuffer)] = []
        for var message in incoming where message.readableBytes > 0 {
            for region in try Self.readRegions(from: &message) {
                guard let bytes = message.readSlice(length: Int(region.length)) else { throw IOError.cutMessage }
                received.append((region, bytes))
            }
        }
        // Stable: where ranks overlap, the later rank's bytes land last (MPI leaves it undefined).
        let ordered = received.enumerated().sorted { ($0.element.region.offset, $0.offset) < ($1.element.region.offset, $1.offset) }.map(\.element)
        var packed = ByteBufferAllocator().buffer(capacity: ordered.reduce(0) { $0 + $1.bytes.readableBytes })
        var merged: [AccessPattern.Region] = []
        for (region, bytes) in ordered {
            packed.writeImmutableBuffer(bytes)
            if let last = merged.last, last.offset + last.length == region.offset {
                merged[merged.count - 1].length += region.length
            } else {
                merged.append(region)
            }
        }
        return (packed, merged)
    }

    // MARK: Reads

    /// Sends every aggregator the pieces this rank wants from its domain;
    /// an aggregator reads what everyone wants with `read` (merged runs in
    /// file order, their bytes cut where the file ends) and sends each rank
    /// its bytes back. Returns this rank's bytes in its regions' order, cut
    /// where the file ends.
    func exchangeForRead(regions: [AccessPattern.Region], read: ([AccessPattern.Region]) throws -> ByteBuffer) throws -> ByteBuffer {
        let mine = pieces(of: regions)
        var requests = [ByteBuffer](repeating: ByteBuffer(), count: communicator.size)
        for (domain, pieces) in mine.enumerated() where !pieces.isEmpty {
            var message = ByteBufferAllocator().buffer(capacity: 4 + pieces.count * 16)
            Self.writeRegions(pieces.map(\.region), into: &message)
            requests[aggregators[domain]] = message
        }
        let asked = try communicator.alltoall(requests)
        var replies = [ByteBuffer](repeating: ByteBuffer(), count: communicator.size)
        var failure: Error?
        if myDomain != nil {
            do {
                replies = try serve(asked, read: read)
            } catch {
                // Every rank still takes part in the exchange; the caller agrees on the failure after it.
                failure = error
            }
        }
        let answers = try communicator.alltoall(replies)
        if let failure { throw failure }
        // This rank's pieces, domain by domain in the order it asked: its regions' bytes in order.
        var cursors = answers
        var packed = ByteBufferAllocator().buffer(capacity: regions.reduce(0) { $0 + Int($1.length) })
        var ended = false
        var inOrder: [(domain: Int, piece: Piece)] = []
        for (domain, pieces) in mine.enumerated() { for piece in pieces { inOrder.append((domain, piece)) } }
        inOrder.sort { $0.piece.bufferOffset < $1.piece.bufferOffset }
        for (domain, piece) in inOrder where !ended {
            let source = aggregators[domain]
            let wanted = Int(piece.region.length)
            let available = min(wanted, cursors[source].readableBytes)
            if available > 0 { packed.writeImmutableBuffer(cursors[source].readSlice(length: available)!) }
            // Short: the end of the file, past which every later piece lies.
            ended = available < wanted
        }
        return packed
    }

    /// An aggregator's side of a read: the union of what every rank asked
    /// for, read in merged runs, and each rank's bytes in the order it asked.
    private func serve(_ asked: [ByteBuffer], read: ([AccessPattern.Region]) throws -> ByteBuffer) throws -> [ByteBuffer] {
        var wanted: [[AccessPattern.Region]] = []
        for var message in asked { wanted.append(message.readableBytes > 0 ? try Self.readRegions(from: &message) : []) }
        var runs: [AccessPattern.Region] = []
        for region in wanted.flatMap({ $0 }).sorted(by: { $0.offset < $1.offset }) {
            if let last = runs.last, region.offset <= last.offset + last.length {
                runs[runs.count - 1].length = max(last.length, region.offset + region.length - last.offset)
            } else {
                runs.append(region)
            }
        }
        let bytes = try read(runs)
        // Where each run's bytes start in what was read; those past the end of the file are missing.
        var runStarts: [Int] = []
        var position = 0
        for run in runs {
            runStarts.append(position)
            position += Int(run.length)
        }
        return wanted.map { regions in
            var reply = ByteBufferAllocator().buffer(capacity: regions.reduce(0) { $0 + Int($1.length) })
            for region in regions {
                // The last run starting at or before the region holds it (runs are merged and sorted).
                var low = 0
                var high = runs.count - 1
                while low < high {
                    let middle = (low + high + 1) / 2
                    if runs[middle].offset <= region.offset { low = middle } else { high = middle - 1 }
                }
                let from = runStarts[low] + Int(region.offset - runs[low].offset)
                let available = max(0, min(Int(region.length), bytes.readableBytes - from))
                if available > 0 { reply.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + from, length: available)!) }
                if available < Int(region.length) { break }
            }
            return reply
        }
    }

    // MARK: Messages

    private static func writeRegions(_ regions: [AccessPattern.Region], into message: inout ByteBuffer) {
        message.writeInteger(UInt32(regions.count))
        for region in regions {
            message.writeInteger(region.offset)
            message.writeInteger(region.length)
        }
    }

    private static func readRegions(from message: inout ByteBuffer) throws -> [AccessPattern.Region] {
        guard let count = message.readInteger(as: UInt32.self), message.readableBytes >= Int(count) * 16 else { throw IOError.cutMessage }
        return (0..<Int(count)).map { _ in
            AccessPattern.Region(offset: message.readInteger(as: UInt64.self)!, length: message.readInteger(as: UInt64.self)!)
        }
    }
}
