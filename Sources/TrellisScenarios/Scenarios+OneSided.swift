import NIOCore
import TrellisCore
import TrellisRuntime

extension Scenarios {
    /// One-sided windows among all ranks: put and get under locks, an atomic
    /// counter by fetch-and-add, a read-modify-write kept whole by an
    /// exclusive lock, noncontiguous layouts, dynamic segments under fences,
    /// and refusals for bad accesses.
    static func oneSided(_ runtime: Runtime) throws {
        let world = runtime.world
        let deadline = Deadline.after(seconds: 120)
        let window = try world.createWindow(byteCount: 1024, deadline: deadline)
        let next = (world.rank + 1) % world.size

        // Put and get under an exclusive lock on the next rank.
        try window.lock(.exclusive, rank: next, deadline: deadline)
        try window.put(ByteBuffer(wireValues: [Int64(world.rank), Int64(world.rank * 1000)]), to: next, offset: 0)
        let readBack = try window.get(byteCount: 16, from: next, offset: 0)
        try window.unlock(rank: next, deadline: deadline)
        try expectEqual(try readBack.wait().wireValues(of: Int64.self), [Int64(world.rank), Int64(world.rank * 1000)], "get after put")
        try world.barrier(deadline: deadline)
        let previous = (world.rank + world.size - 1) % world.size
        let local = try window.withLocalMemory { ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
        try expectEqual(try local.wireValues(of: Int64.self), [Int64(previous), Int64(previous * 1000)], "what the previous rank put here")

        // An atomic counter at rank 0: every fetched value is different.
        let increments = 50
        try window.lock(.shared, rank: 0, deadline: deadline)
        var fetched: [Int64] = []
        for _ in 0..<increments {
            fetched += try window.fetchAndAccumulate([Int64(1)], .sum, to: 0, offset: 512).wait(deadline: deadline)
        }
        try window.unlock(rank: 0, deadline: deadline)
        let allFetched = try world.allgather(fetched, deadline: deadline).flatMap { $0 }
        try expectEqual(allFetched.sorted(), (0..<Int64(increments * world.size)).map { $0 }, "values fetched from the counter")

        // Read, add one, write back: whole because the lock is exclusive.
        for _ in 0..<20 {
            try window.lock(.exclusive, rank: 0, deadline: deadline)
            let value = try window.get(byteCount: 8, from: 0, offset: 600).wait(deadline: deadline).wireValues(of: Int64.self)[0]
            try window.put(ByteBuffer(wireValues: [value + 1]), to: 0, offset: 600)
            try window.unlock(rank: 0, deadline: deadline)
        }
        try world.barrier(deadline: deadline)
        if world.rank == 0 {
            let counters = try window.withLocalMemory { ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: $0[512..<520] )) }
            try expectEqual(try counters.wireValues(of: Int64.self), [Int64(increments * world.size)], "atomic counter")
            let guarded = try window.withLocalMemory { ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: $0[600..<608])) }
            try expectEqual(try guarded.wireValues(of: Int64.self), [Int64(20 * world.size)], "read-modify-write under exclusive locks")
        }

        // Noncontiguous: a strided column at the target, read back with the same layout.
        let column = try Datatype.vector(count: 8, blockLength: 4, stride: 32)
        let pattern = ByteBuffer(bytes: (0..<32).map { UInt8(world.rank * 32 + $0) })
        try window.lock(.exclusive, rank: next, deadline: deadline)
        try window.put(pattern, to: next, offset: 128, layout: column)
        let column2 = try window.get(from: next, offset: 128, layout: column)
        let gap = try window.get(byteCount: 4, from: next, offset: 132)
        try window.unlock(rank: next, deadline: deadline)
        try expectEqual(try column2.wait(), pattern, "column read with the layout it was written with")
        try expectEqual(try gap.wait(), ByteBuffer(bytes: [0, 0, 0, 0]), "bytes between the column's blocks")

        // Refusals: past the end, a segment never attached, no epoch, a bitwise op on doubles.
        try window.lock(.shared, rank: next, deadline: deadline)
        let pastEnd = try expectError("a put past the window's end") { try window.put(ByteBuffer(repeating: 1, count: 16), to: next, offset: 1020).wait(deadline: deadline) }
        try expectEqual((pastEnd as? TrellisError)?.code, .accessRefused, "put past the end")
        let unattached = try expectError("a get from a segment never attached") { try window.get(byteCount: 1, from: next, segment: 42, offset: 0).wait(deadline: deadline) }
        try expectEqual((unattached as? TrellisError)?.code, .accessRefused, "get from an unattached segment")
        let bitwise = try expectError("bitwise or on doubles") { try window.accumulate([1.5], .bitwiseOr, to: next, offset: 0).wait(deadline: deadline) }
        try expectEqual((bitwise as? TrellisError)?.code, .accessRefused, "bitwise accumulate on doubles")
        // The unlock reports that an operation of the epoch failed, then the window works on.
        let unlock = try expectError("unlock after refused operations") { try window.unlock(rank: next, deadline: deadline) }
        try expectEqual((unlock as? TrellisError)?.code, .accessRefused, "unlock after refusals")
        let noEpoch = try expectError("a put without a lock") { try window.put(ByteBuffer(repeating: 1, count: 1), to: next, offset: 0) }
        try expectEqual((noEpoch as? TrellisError)?.code, .invalidArgument, "put without an epoch")

        // A lock request that waits behind an exclusive holder can be cancelled.
        // (Everyone is done with the locks above first, or one could wait behind rank 0's.)
        try world.barrier(deadline: deadline)
        if world.size > 1 {
            if world.rank == 0 { try window.lock(.exclusive, rank: 0, deadline: deadline) }
            try world.barrier(deadline: deadline)
            if world.rank == 1 {
                let waiting = try window.ilock(.exclusive, rank: 0)
                let early = try expectError("a lock behind an exclusive holder") { try waiting.wait(deadline: .after(seconds: 0.3)) }
                try expectEqual((early as? TrellisError)?.code, .timedOut, "lock behind a holder")
                try expect(waiting.cancel(), "cancel a waiting lock request")
            }
            try world.barrier(deadline: deadline)
            if world.rank == 0 { try window.unlock(rank: 0, deadline: deadline) }
            // The cancelled request's late grant was given back: an exclusive lock is free again.
            try window.lock(.exclusive, rank: 0, deadline: deadline)
            try window.unlock(rank: 0, deadline: deadline)
        }

        // Dynamic segments under fences: each rank attaches one and tells the others its id.
        let dynamic = try world.createDynamicWindow(deadline: deadline)
        let segment = try dynamic.attach(byteCount: 64)
        let segments = try world.allgather([Int64(segment)], deadline: deadline).map { UInt64($0[0]) }
        try dynamic.fence(deadline: deadline)
        try dynamic.put(ByteBuffer(wireValues: [Int64(world.rank + 100)]), to: next, segment: segments[next], offset: 8)
        try dynamic.fence(deadline: deadline)
        let arrived = try dynamic.withLocalMemory(segment: segment) { ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: $0[8..<16])) }
        try expectEqual(try arrived.wireValues(of: Int64.self), [Int64(previous + 100)], "put into a dynamic segment")
        try dynamic.detach(segment)
        try world.barrier(deadline: deadline)
        let detached = try expectError("a put to a detached segment") { try dynamic.put(ByteBuffer(repeating: 1, count: 8), to: next, segment: segments[next], offset: 0).wait(deadline: deadline) }
        try expectEqual((detached as? TrellisError)?.code, .accessRefused, "put to a detached segment")
        try world.barrier(deadline: deadline)

        // A freed window refuses what still arrives for it.
        window.free()
        try world.barrier(deadline: deadline)
        if world.size > 1 {
            let freed = try expectError("a lock on a freed window") { try window.lock(rank: next, deadline: deadline) }
            try expectEqual((freed as? TrellisError)?.code, .communicatorFreed, "lock on a window freed here")
        }
        if world.rank == 0 { dynamic.free() }
        try world.barrier(deadline: deadline)
        if world.rank == 1 {
            let gone = try expectError("a put to a window its target freed") {
                try dynamic.put(ByteBuffer(repeating: 1, count: 8), to: 0, segment: segments[0], offset: 0).wait(deadline: deadline)
            }
            try expectEqual((gone as? TrellisError)?.code, .accessRefused, "put to a window freed at its target")
        }
        try world.barrier(deadline: deadline)
        dynamic.free()

        // Derived datatypes with point-to-point: pack a layout, send, unpack into another.
        let strided = try Datatype.vector(count: 4, blockLength: 2, stride: 6)
        let source = (0..<24).map { UInt8($0 + world.rank) }
        let incoming = try world.ireceive(from: .rank(previous), tag: .tag(3))
        try world.send(try strided.pack(from: source), to: next, tag: 3, deadline: deadline)
        var destination = [UInt8](repeating: 0, count: 24)
        try strided.unpack(try incoming.wait(deadline: deadline).payload, into: &destination)
        let expected = (0..<24).map { index in index % 6 < 2 ? UInt8(index + previous) : 0 }
        try expectEqual(destination, expected, "strided layout through point-to-point")
        try world.barrier(deadline: deadline)
        if world.rank == 0 { print("ONE-SIDED ok on \(world.size) ranks") }
    }
}
