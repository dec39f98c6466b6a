import NIOCore
import TrellisCore
import TrellisRuntime

extension Scenarios {
    /// Wildcard-root broadcasts: each rank in turn becomes the root by
    /// supplying data to a broadcast everyone posted in advance.
    static func wildcard(_ runtime: Runtime) throws {
        let world = runtime.world
        for root in 0..<world.size {
            let pending = try world.iwildcardBroadcast()
            if world.rank == root {
                try pending.supply(ByteBuffer(wireValues: [Int64(root * 7), Int64(root)]))
            }
            let (payload, from) = try pending.request.wait(deadline: .after(seconds: 60))
            try expectEqual(from, root, "root learned from the data")
            try expectEqual(try payload.wireValues(of: Int64.self), [Int64(root * 7), Int64(root)], "wildcard broadcast data")
            if world.rank != root {
                let late = try expectError("a second supplier") { try pending.supply(ByteBuffer(string: "late")) }
                try expectEqual((late as? TrellisError)?.code, .collectiveMismatch, "late supplier error")
            }
        }
        // A posted wildcard broadcast that nobody supplies can be cancelled everywhere.
        let abandoned = try world.iwildcardBroadcast()
        try expect(abandoned.request.cancel(), "cancel an unsupplied wildcard broadcast")
        try world.barrier(deadline: .after(seconds: 60))
        let next = try world.iwildcardBroadcast()
        if world.rank == world.size - 1 { try next.supply(ByteBuffer(string: "after cancel")) }
        try expectEqual(String(buffer: try next.request.wait(deadline: .after(seconds: 60)).payload), "after cancel", "broadcast after a cancelled one")
    }
}
