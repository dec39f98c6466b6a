import Glibc
import NIOCore
import TrellisCore
import TrellisRuntime
import TrellisSystem

enum Scenarios {
    static func basics(_ runtime: Runtime) throws {
        let world = runtime.world
        let expectedSize = Int(ProcessEnvironment.value("TRELLIS_SIZE") ?? "1")!
        try expectEqual(world.size, expectedSize, "world size")
        try expectEqual(world.rank, Int(ProcessEnvironment.value("TRELLIS_RANK") ?? "0")!, "world rank")
        let ranks = try world.allgather([world.rank]).map { $0[0] }
        try expectEqual(ranks, Array(0..<world.size), "ranks seen by allgather")
        try expectEqual(runtime.isSingleton, ProcessEnvironment.value("PMI_FD") == nil, "singleton flag")
    }
}
