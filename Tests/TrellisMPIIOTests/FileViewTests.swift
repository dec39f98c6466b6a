import Foundation
import NIOCore
import PropertyBased
import Testing
import TrellisFSDistribution
import TrellisCore
import TrellisRuntime
@testable import TrellisMPIIO

/// Where each data byte of a view lands, found by laying copies of the
/// filetype over the file one after another and numbering their bytes:
/// the slow, obviously right model the view's arithmetic is checked against.
private func serialPlaces(_ view: FileView, from position: Int, count: Int) -> [UInt64] {
    var places: [UInt64] = []
    var tile = 0
    var seen = 0
    while places.count < count {
        for block in view.filetype.blocks {
            for byte in 0..<block.length {
                if seen >= position, places.count < count {
                    places.append(view.displacement + UInt64(tile * view.filetype.extent + block.offset + byte))
                }
                seen += 1
            }
        }
        tile += 1
    }
    return places
}

private func expand(_ regions: [AccessPattern.Region]) -> [UInt64] {
    regions.flatMap { region in (0..<region.length).map { region.offset + $0 } }
}

/// Views of 1 to 5 forward, non-overlapping blocks (each 1 to 6 bytes, 0 to 5 apart), any extent past their reach, etype 1 or the gcd-friendly 2.
private let views: Generator<FileView, some SendableSequenceType> = zip(
    zip(Gen.int(in: 0...5), Gen.int(in: 1...6)).array(of: 1...5), Gen.int(in: 0...7), Gen.uint64(in: 0...40)
).map { blocks, slack, displacement in
    var offset = 0
    var laid: [(offset: Int, length: Int)] = []
    for (gap, length) in blocks {
        offset += gap
        laid.append((offset, length))
        offset += length
    }
    let filetype = try! Datatype.indexed(laid).resized(extent: offset + slack)
    return try! FileView(displacement: displacement, etype: .contiguous(1), filetype: filetype)
}

@Suite struct FileViewTests {
    @Test func everyByteOfAViewLandsWhereTheSerialLayingPutsIt() async {
        await propertyCheck(count: 1500, input: views, Gen.int(in: 0...60), Gen.int(in: 0...90)) { view, position, count in
            let regions = view.regions(at: UInt64(position), bytes: UInt64(count))
            #expect(expand(regions) == serialPlaces(view, from: position, count: count), "\(view.filetype) from \(position), \(count) bytes")
            // Merged: no region ends where the next begins.
            #expect(!zip(regions, regions.dropFirst()).contains { $0.offset + $0.length == $1.offset })
        }
    }

    @Test func theDefaultViewIsTheFileInOrder() {
        #expect(FileView.whole.regions(at: 100, bytes: 50) == [AccessPattern.Region(offset: 100, length: 50)])
        #expect(FileView.whole.regions(at: 7, bytes: 0).isEmpty)
    }

    @Test func badViewsAreErrors() throws {
        let etype = try Datatype.contiguous(4)
        #expect(throws: TrellisError.self, "a filetype of 6 bytes is not whole 4-byte etypes") {
            try FileView(displacement: 0, etype: etype, filetype: .contiguous(6))
        }
        #expect(throws: TrellisError.self, "blocks going backwards") {
            try FileView(displacement: 0, etype: .contiguous(1), filetype: .indexed([(offset: 8, length: 2), (offset: 0, length: 2)]))
        }
        #expect(throws: TrellisError.self, "an extent short of the blocks' reach") {
            try FileView(displacement: 0, etype: .contiguous(1), filetype: Datatype(blocks: [.init(offset: 0, length: 8)], extent: 8).resized(extent: 4))
        }
    }

    /// A subarray's bytes are exactly the block's elements of the array in row-major order.
    @Test func aSubarrayHoldsItsBlockOfTheArrayInRowMajorOrder() throws {
        let sizes = [4, 5, 6]
        let subsizes = [2, 3, 4]
        let starts = [1, 2, 1]
        let subarray = try Datatype.subarray(sizes: sizes, subsizes: subsizes, starts: starts, elementBytes: 2)
        var expected: [Int] = []
        for i in 0..<subsizes[0] {
            for j in 0..<subsizes[1] {
                for k in 0..<subsizes[2] {
                    let element = ((starts[0] + i) * sizes[1] + starts[1] + j) * sizes[2] + starts[2] + k
                    expected += [2 * element, 2 * element + 1]
                }
            }
        }
        #expect(subarray.blocks.flatMap { block in (0..<block.length).map { block.offset + $0 } } == expected)
        #expect(subarray.extent == 4 * 5 * 6 * 2)
        // A full inner extent merges rows into one block.
        #expect(try Datatype.subarray(sizes: [3, 4], subsizes: [2, 4], starts: [1, 0], elementBytes: 1).blocks == [.init(offset: 4, length: 8)])
        #expect(throws: TrellisError.self) { try Datatype.subarray(sizes: [3], subsizes: [2], starts: [2], elementBytes: 1) }
    }

    @Test func aggregatorPiecesStayWithinTheBufferSize() {
        let regions = [AccessPattern.Region(offset: 0, length: 10), .init(offset: 20, length: 3), .init(offset: 30, length: 25)]
        let groups = ParallelFile.pieces(of: regions, atMost: 8)
        #expect(groups.allSatisfy { $0.reduce(0) { $0 + $1.length } <= 8 })
        #expect(expand(groups.flatMap { $0 }) == expand(regions))
    }

    /// Data sieving takes each region's bytes out of spans of at most the buffer size, and stops where the file ends.
    @Test func sievingReadsTheSameBytesAsOneReadPerRegion() throws {
        let path = NSTemporaryDirectory() + "trellis-sieve-\(UUID().uuidString)"
        defer { unlink(path) }
        let content = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        FileManager.default.createFile(atPath: path, contents: Data(content))
        let storage = try PosixFileStorage(path: path, writable: false, create: false)
        defer { try? storage.close() }
        let regions = stride(from: 3, to: 5200, by: 97).map { AccessPattern.Region(offset: UInt64($0), length: 11) }
        let sieved = try DataSieving.read(regions, from: storage, bufferBytes: 1000)
        var expected: [UInt8] = []
        for region in regions where region.offset < 5000 { expected += content[Int(region.offset)..<min(5000, Int(region.offset + region.length))] }
        #expect(Array(sieved.readableBytesView) == expected)
        #expect(DataSieving.spans(of: regions, bufferBytes: 1000).allSatisfy { ($0.last!.offset + $0.last!.length) - $0.first!.offset <= 1000 })
    }
}
