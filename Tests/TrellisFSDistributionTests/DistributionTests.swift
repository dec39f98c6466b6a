import PropertyBased
import Testing
import TrellisFSDistribution

/// Where logical byte `offset` lives, found by walking strips one by one:
/// the slow, obviously right model the fast arithmetic is checked against.
private func walk(_ distribution: Distribution, _ offset: UInt64) -> (datafile: Int, physical: UInt64) {
    var logical: UInt64 = 0
    var physical = [UInt64](repeating: 0, count: distribution.datafileCount)
    while true {
        for (datafile, size) in distribution.stripSizesBytes.enumerated() {
            if offset < logical + size { return (datafile, physical[datafile] + offset - logical) }
            logical += size
            physical[datafile] += size
        }
    }
}

private func smallDistributions() throws -> [Distribution] {
    var all: [Distribution] = []
    for count in 1...4 {
        for strip in 1...5 { all.append(try .simpleStripe(stripSizeBytes: UInt64(strip), datafileCount: count)) }
    }
    for sizes in [[1, 2], [3, 1, 2], [5, 5, 1, 4], [7], [2, 9, 1]] {
        all.append(try .variableStrip(stripSizesBytes: sizes.map(UInt64.init)))
    }
    return all
}

@Suite struct DistributionExhaustiveTests {
    @Test func everyByteOfSmallLayoutsIsWhereTheWalkPutsIt() throws {
        for distribution in try smallDistributions() {
            for offset in UInt64(0)..<200 {
                let fast = distribution.locate(offset)
                let slow = walk(distribution, offset)
                #expect(fast == slow, "\(distribution) byte \(offset)")
                #expect(distribution.logicalOffset(datafile: fast.datafile, physical: fast.physical) == offset)
            }
        }
    }

    @Test func sizesOfSmallLayoutsMatchAByteCount() throws {
        for distribution in try smallDistributions() {
            var counts = [UInt64](repeating: 0, count: distribution.datafileCount)
            for size in UInt64(0)...150 {
                let expected = counts
                for datafile in 0..<distribution.datafileCount {
                    #expect(distribution.datafileSize(forLogicalSize: size, datafile: datafile) == expected[datafile], "\(distribution) size \(size)")
                }
                #expect(distribution.logicalSize(datafileSizes: expected) == size, "\(distribution) size \(size)")
                counts[walk(distribution, size).datafile] += 1
            }
        }
    }

    @Test func everyRangeOfSmallLayoutsSplitsIntoExactPieces() throws {
        for distribution in try smallDistributions() {
            for offset in UInt64(0)..<40 {
                for length in UInt64(0)..<40 {
                    let pieces = try distribution.pieces(offset: offset, length: length)
                    var expectedNext = offset
                    for piece in pieces {
                        #expect(piece.logicalOffset == expectedNext && piece.length > 0)
                        for byte in 0..<piece.length {
                            let place = walk(distribution, piece.logicalOffset + byte)
                            #expect(place.datafile == piece.datafile && place.physical == piece.physicalOffset + byte)
                        }
                        expectedNext += piece.length
                    }
                    #expect(expectedNext == offset + length)
                }
            }
        }
    }
}

@Suite struct DistributionPropertyTests {
    static let distributions = Gen.oneOf(
        zip(Gen.uint64(in: 1...(1 << 20)), Gen.int(in: 1...64), Gen.int(in: 0...63)).map { strip, count, base in
            try! Distribution.simpleStripe(stripSizeBytes: strip, datafileCount: count, firstServer: base)
        },
        Gen.uint64(in: 1...(1 << 20)).array(of: 1...16).map { try! Distribution.variableStrip(stripSizesBytes: $0) })

    @Test func locateAndLogicalOffsetAreInverse() async {
        await propertyCheck(count: 2000, input: Self.distributions, Gen.uint64(in: 0...(1 << 50))) { distribution, offset in
            let place = distribution.locate(offset)
            #expect(place.datafile < distribution.datafileCount)
            #expect(place.physical / distribution.stripSizesBytes[place.datafile] == offset / distribution.cycleBytes)
            #expect(distribution.logicalOffset(datafile: place.datafile, physical: place.physical) == offset)
        }
    }

    @Test func piecesCoverARangeExactlyAndStayInOneStrip() async {
        await propertyCheck(count: 1000, input: Self.distributions, Gen.uint64(in: 0...(1 << 44)), Gen.uint64(in: 0...(1 << 24))) { distribution, offset, length in
            let pieces = try! distribution.pieces(offset: offset, length: length)
            #expect(pieces.reduce(0) { $0 + $1.length } == length)
            var next = offset
            for piece in pieces {
                #expect(piece.logicalOffset == next)
                let first = distribution.locate(piece.logicalOffset)
                let last = distribution.locate(piece.logicalOffset + piece.length - 1)
                #expect(first.datafile == piece.datafile && first.physical == piece.physicalOffset)
                #expect(last.datafile == piece.datafile && last.physical == piece.physicalOffset + piece.length - 1)
                next += piece.length
            }
        }
    }

    @Test func datafileSizesGiveBackTheLogicalSize() async {
        await propertyCheck(count: 2000, input: Self.distributions, Gen.uint64(in: 0...(1 << 50))) { distribution, size in
            let sizes = (0..<distribution.datafileCount).map { distribution.datafileSize(forLogicalSize: size, datafile: $0) }
            #expect(sizes.reduce(0, +) == size)
            #expect(distribution.logicalSize(datafileSizes: sizes) == size)
        }
    }

    @Test func badDistributionsAndRangesAreErrors() {
        #expect(throws: DistributionError.self) { try Distribution.simpleStripe(stripSizeBytes: 0, datafileCount: 4) }
        #expect(throws: DistributionError.self) { try Distribution.simpleStripe(stripSizeBytes: 65_536, datafileCount: 0) }
        #expect(throws: DistributionError.self) { try Distribution.variableStrip(stripSizesBytes: []) }
        #expect(throws: DistributionError.self) { try Distribution.variableStrip(stripSizesBytes: [4, Distribution.maximumStripBytes + 1]) }
        #expect(throws: DistributionError.self) { try Distribution.simpleStripe(stripSizeBytes: 4, datafileCount: 2, firstServer: -1) }
        let layout = try! Distribution.simpleStripe(stripSizeBytes: 65_536, datafileCount: 4)
        #expect(throws: DistributionError.self) { try layout.pieces(offset: UInt64.max - 10, length: 100) }
    }
}

@Suite struct AccessPatternTests {
    @Test func stridedTransfersFillTheBufferOnceInOrder() async {
        await propertyCheck(
            count: 500, input: DistributionPropertyTests.distributions, Gen.uint64(in: 0...(1 << 30)), Gen.uint64(in: 1...5000),
            Gen.uint64(in: 0...5000), Gen.uint64(in: 0...50)
        ) { distribution, offset, groupSize, gap, count in
            let pattern = try! AccessPattern.strided(offset: offset, groupSize: groupSize, stride: groupSize + gap, count: count)
            #expect(pattern.byteCount == groupSize * count)
            let transfers = try! pattern.transfers(in: distribution).sorted { $0.bufferOffset < $1.bufferOffset }
            var next: UInt64 = 0
            for transfer in transfers {
                #expect(transfer.bufferOffset == next)
                // The buffer byte's file offset, from the pattern, lives where the transfer says.
                let group = transfer.bufferOffset / groupSize
                let logical = offset + group * (groupSize + gap) + transfer.bufferOffset % groupSize
                let place = distribution.locate(logical)
                #expect(place.datafile == transfer.datafile && place.physical == transfer.physicalOffset)
                next += transfer.length
            }
            #expect(next == pattern.byteCount)
        }
    }

    @Test func stridedPatternsRejectOverlapsAndOverflow() {
        #expect(throws: DistributionError.self) { try AccessPattern.strided(offset: 0, groupSize: 10, stride: 5, count: 3) }
        #expect(throws: DistributionError.self) { try AccessPattern.strided(offset: 0, groupSize: 1, stride: UInt64.max / 2, count: 4) }
        #expect(throws: DistributionError.self) { try AccessPattern(regions: [.init(offset: UInt64.max - 1, length: 2)]) }
    }
}
