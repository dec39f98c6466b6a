import NIOCore
import Testing
import TrellisCore
@testable import TrellisRuntime

@Suite struct DatatypeTests {
    /// Packing follows the blocks in order and unpacking puts every byte back
    /// where it came from, for many random layouts (checked byte by byte
    /// against a plain loop).
    @Test func randomLayoutsPackAndUnpackLikeAPlainLoop() throws {
        var generator = SeededGenerator(seed: 20261121)
        for _ in 0..<500 {
            let count = Int(generator.next() % 12)
            var blocks: [(offset: Int, length: Int)] = []
            var cursor = 0
            for _ in 0..<count {
                cursor += Int(generator.next() % 9)
                let length = Int(generator.next() % 7)
                blocks.append((cursor, length))
                cursor += length
            }
            blocks.shuffle(using: &generator)
            let layout = try Datatype.indexed(blocks)
            let memory = (0..<cursor + 4).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let packed = try layout.pack(from: memory)
            let expected = blocks.flatMap { memory[$0.offset..<$0.offset + $0.length] }
            #expect(Array(packed.readableBytesView) == expected)
            #expect(layout.byteCount == expected.count)
            var copy = [UInt8](repeating: 0, count: memory.count)
            try layout.unpack(packed, into: &copy)
            var covered = Set<Int>()
            for block in blocks { covered.formUnion(block.offset..<block.offset + block.length) }
            for index in copy.indices { #expect(copy[index] == (covered.contains(index) ? memory[index] : 0)) }
        }
    }

    @Test func vectorsRepeatsAndShifts() throws {
        let vector = try Datatype.vector(count: 3, blockLength: 2, stride: 5)
        #expect(vector.blocks.map(\.offset) == [0, 5, 10])
        #expect(vector.byteCount == 6 && vector.extent == 12)
        let twice = try vector.repeated(2)
        #expect(twice.blocks.map(\.offset) == [0, 5, 10, 12, 17, 22])
        #expect(twice.extent == 24)
        #expect(try vector.shifted(by: 100).blocks.map(\.offset) == [100, 105, 110])
        #expect(try Datatype.contiguous(0).blocks.isEmpty)
    }

    @Test func badLayoutsAndBuffersAreErrors() throws {
        #expect(throws: TrellisError.self) { try Datatype.indexed([(offset: -1, length: 4)]) }
        #expect(throws: TrellisError.self) { try Datatype.indexed([(offset: Int.max, length: 4)]) }
        #expect(throws: TrellisError.self) { try Datatype.vector(count: 2, blockLength: 4, stride: 3) }
        let layout = try Datatype.vector(count: 2, blockLength: 4, stride: 8)
        #expect(throws: TrellisError.self) { try layout.pack(from: [UInt8](repeating: 0, count: 11)) }
        var small = [UInt8](repeating: 0, count: 16)
        #expect(throws: TrellisError.self) { try layout.unpack(ByteBuffer(repeating: 0, count: 7), into: &small) }
    }
}
