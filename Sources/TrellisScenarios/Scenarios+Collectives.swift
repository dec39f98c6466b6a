import Foundation
import NIOCore
import TrellisCore
import TrellisRuntime

extension Scenarios {
    /// Every collective against a serial computation of its expected result,
    /// on the world, a duplicate and a split communicator, small and large.
    static func collectives(_ runtime: Runtime) throws {
        let world = runtime.world
        let duplicate = try world.duplicate()
        let halves = try world.split(color: world.rank % 2, key: -world.rank)!
        for communicator in [world, duplicate, halves] {
            for count in [1, 7, 40_000] {
                try checkCollectives(on: communicator, count: count)
            }
        }
        duplicate.free()
        halves.free()
    }

    /// The value rank r contributes at index i.
    static func contribution(rank: Int, index: Int) -> Int { ((rank + 2) * 7 + index % 5) << 32 | ((rank + 1) * 1000 + index % 997) }

    static func checkCollectives(on comm: Communicator, count: Int) throws {
        let rank = comm.rank
        let size = comm.size
        let expected = ExpectedCollectiveResults(rank: rank, size: size, count: count)
        let mine = expected.row(of: rank)
        let sums = expected.sums
        let label = "\(comm) count \(count)"

        try comm.barrier()
        for root in Set([0, size - 1, size / 2]).sorted() {
            let data = try comm.broadcast(rank == root ? mine : nil, root: root)
            try expectEqual(data, expected.row(of: root), "broadcast from \(root) on \(label)")
            let reduced = try comm.reduce(mine, .sum, root: root)
            try expectEqual(reduced, rank == root ? sums : nil, "reduce to \(root) on \(label)")
            let gathered = try comm.gather(Array(mine.prefix(rank + 1)), root: root)
            try expectEqual(gathered, rank == root ? (0..<size).map { expected.row(of: $0, count: $0 + 1) } : nil, "gatherv at \(root) on \(label)")
            let pieces = rank == root ? (0..<size).map { Array(repeating: $0 * 3, count: $0 + 1) } : nil
            let piece = try comm.scatter(pieces, root: root)
            try expectEqual(piece, Array(repeating: rank * 3, count: rank + 1), "scatterv from \(root) on \(label)")
        }
        try expectEqual(try comm.allreduce(mine, .sum), sums, "allreduce sum on \(label)")
        let doubles = mine.map { Double($0) / 8 }
        try expectEqual(try comm.allreduce(doubles, .sum), expected.doubleSums, "allreduce double sum on \(label)")
        try expectEqual(try comm.allreduce(mine, .max), expected.row(of: size - 1), "allreduce max on \(label)")
        try expectEqual(try comm.allreduce(mine, .min), expected.row(of: 0), "allreduce min on \(label)")
        // Composition of affine maps x -> m·x + c (mod 2^32), packed as m<<32 | c:
        // associative but not commutative, so only rank order gives the expected value.
        let ordered = Reduction<Int>.custom(name: "compose", commutative: false, composeAffine)
        let expectedOrdered = expected.composed
        try expectEqual(try comm.allreduce(mine, ordered), expectedOrdered, "allreduce in rank order on \(label)")
        try expectEqual(try comm.reduce(mine, ordered, root: size - 1), rank == size - 1 ? expectedOrdered : nil, "reduce in rank order on \(label)")

        let gatheredAll = try comm.allgather(Array(mine.prefix(rank + 1)))
        try expectEqual(gatheredAll, (0..<size).map { expected.row(of: $0, count: $0 + 1) }, "allgatherv on \(label)")
        let outgoing = (0..<size).map { to in Array(repeating: rank * 100 + to, count: to + 1) }
        let incoming = try comm.alltoall(outgoing)
        try expectEqual(incoming, (0..<size).map { from in Array(repeating: from * 100 + rank, count: rank + 1) }, "alltoallv on \(label)")

        let counts = blockCounts(total: count, parts: size)
        let offset = counts.prefix(rank).reduce(0, +)
        try expectEqual(try comm.reduceScatter(mine, counts: counts, .sum), Array(sums[offset..<offset + counts[rank]]), "reduce-scatter on \(label)")
        try expectEqual(try comm.reduceScatter(mine, counts: counts, ordered), Array(expectedOrdered[offset..<offset + counts[rank]]), "reduce-scatter in rank order on \(label)")

        try expectEqual(try comm.scan(mine, .sum), expected.prefixSums, "scan on \(label)")
        try expectEqual(try comm.exscan(mine, .sum), expected.exclusivePrefixSums, "exscan on \(label)")
        try expectEqual(try comm.scan(mine, ordered), expected.composedPrefix, "scan in rank order on \(label)")
    }

    @Sendable static func composeAffine(_ first: Int, _ second: Int) -> Int {
        let m1 = UInt64(UInt(bitPattern: first)) >> 32, c1 = UInt64(UInt(bitPattern: first)) & 0xFFFF_FFFF
        let m2 = UInt64(UInt(bitPattern: second)) >> 32, c2 = UInt64(UInt(bitPattern: second)) & 0xFFFF_FFFF
        let m = (m1 &* m2) & 0xFFFF_FFFF
        let c = (c1 &* m2 &+ c2) & 0xFFFF_FFFF
        return Int(bitPattern: UInt(m << 32 | c))
    }

    static func blockCounts(total: Int, parts: Int) -> [Int] {
        (0..<parts).map { total / parts + ($0 < total % parts ? 1 : 0) }
    }

    /// Nonblocking collectives started, then point-to-point traffic, then the waits.
    static func overlap(_ runtime: Runtime) throws {
        let world = runtime.world
        let rank = world.rank
        let size = world.size
        let other = try world.duplicate()
        let sum = try world.iallreduce([rank], .sum)
        let barrier = try world.ibarrier()
        let onOther = try other.iallreduce([1], .sum)
        let broadcast = try world.ibroadcast(rank == 0 ? ByteBuffer(repeating: 7, count: 1 << 20) : nil, root: 0)
        let right = (rank + 1) % size
        let left = (rank - 1 + size) % size
        for round in 0..<20 {
            let incoming = try world.ireceive(from: .rank(left), tag: .tag(round))
            try world.send([rank, round], to: right, tag: round)
            let values = try incoming.wait().values(of: Int.self)
            try expectEqual(values, [left, round], "ring round \(round)")
        }
        try expectEqual(try onOther.wait(), [size], "allreduce on the duplicate")
        try barrier.wait()
        try expectEqual(try sum.wait(), [(0..<size).reduce(0, +)], "overlapped allreduce")
        let bytes = try broadcast.wait()
        try expectEqual(bytes.readableBytes, 1 << 20, "overlapped broadcast size")
        try expect(bytes.readableBytesView.allSatisfy { $0 == 7 }, "overlapped broadcast content")
        other.free()
    }
}

extension Scenarios {
    /// Repeated large collectives must not keep their buffers: resident
    /// memory after many rounds stays near what one round needs.
    static func memory(_ runtime: Runtime) throws {
        let world = runtime.world
        let bytes = 8 << 20
        let data = world.rank == 0 ? ByteBuffer(repeating: 3, count: bytes) : nil
        func round() throws {
            let received = try world.broadcast(data, root: 0)
            try expectEqual(received.readableBytes, bytes, "broadcast size")
            // 8-byte elements: a megabyte to keep, with an eighth of the
            // per-element calls of bytes, which dominate unoptimised builds.
            _ = try world.allreduce(ByteBuffer(repeating: 1, count: 1 << 20), Reduction<Int64>.max.operation)
            _ = try world.allgather(ByteBuffer(repeating: 2, count: 1 << 20))
        }
        for _ in 0..<3 { try round() }
        let before = residentBytes()
        for _ in 0..<40 { try round() }
        let growth = residentBytes() - before
        // 40 leaked broadcasts alone would be 320 MiB.
        try expect(growth < 64 << 20, "resident memory grew by \(growth >> 20) MiB over 40 rounds")
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }
}
