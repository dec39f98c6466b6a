import NIOCore
import TrellisCore
import TrellisRuntime

extension Scenarios {
    /// dup, split, create and free: separate contexts that never mix.
    static func communicators(_ runtime: Runtime) throws {
        let world = runtime.world
        let rank = world.rank
        let size = world.size
        let duplicate = try world.duplicate()
        try expect(duplicate.context != world.context, "a duplicate has a new context")
        try expectEqual(duplicate.group, world.group, "a duplicate has the same group")

        // The same tag on two communicators: each receive gets its own communicator's message.
        let peer = (rank + 1) % size
        let source = (rank - 1 + size) % size
        let onWorld = try world.ireceive(from: .rank(source), tag: .tag(1))
        let onDuplicate = try duplicate.ireceive(from: .rank(source), tag: .tag(1))
        try duplicate.send([2], to: peer, tag: 1)
        try world.send([1], to: peer, tag: 1)
        try expectEqual(try onWorld.wait().values(of: Int.self), [1], "world message on world")
        try expectEqual(try onDuplicate.wait().values(of: Int.self), [2], "duplicate message on duplicate")

        // split by parity, reversed order by key.
        let split = try world.split(color: rank % 2, key: size - rank)!
        let members = (0..<size).filter { $0 % 2 == rank % 2 }.reversed()
        try expectEqual(split.size, members.count, "split size")
        try expectEqual(split.rank, Array(members).firstIndex(of: rank)!, "split rank ordered by key")
        let colors = try split.allgather([rank % 2]).map { $0[0] }
        try expect(colors.allSatisfy { $0 == rank % 2 }, "split members share a color")
        try expect(try world.split(color: nil) == nil, "undefined color gets no communicator")

        // create from a group of the even ranks.
        let evens = try world.group.including(ranks: Array(stride(from: 0, to: size, by: 2)))
        let created = try world.create(group: evens)
        try expectEqual(created == nil, rank % 2 == 1, "only members get the created communicator")
        if let created {
            try expectEqual(created.rank, rank / 2, "rank in the created communicator")
            try expectEqual(try created.allreduce([1], .sum), [evens.size], "allreduce on the created communicator")
        }

        // Context ids never repeat, across many duplicates.
        var seen = Set([world.context, duplicate.context, split.context])
        for _ in 0..<200 {
            let next = try world.duplicate()
            try expect(seen.insert(next.context).inserted, "context \(next.context) reused")
            next.free()
        }

        // A freed communicator: its receives fail and it refuses new operations.
        let doomed = try world.duplicate()
        let waiting = try doomed.ireceive(from: .any, tag: .any)
        doomed.free()
        let error = try expectError("receive on a freed communicator") { try waiting.wait() }
        try expectEqual((error as? TrellisError)?.code, .communicatorFreed, "freed communicator error")
        let refused = try expectError("send on a freed communicator") { try doomed.isend(ByteBuffer(), to: 0) }
        try expectEqual((refused as? TrellisError)?.code, .communicatorFreed, "freed communicator refuses sends")
        split.free()
        created?.free()
        duplicate.free()
    }
}
