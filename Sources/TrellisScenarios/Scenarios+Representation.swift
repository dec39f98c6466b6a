import NIOCore
import TrellisCore
import TrellisRuntime

extension Scenarios {
    /// Typed data has one byte layout on the wire whatever the host (Table 1
    /// of the persistent-services paper, Latham, Ross and Thakur, "Can MPI Be
    /// Used for Persistent Parallel Services?": heterogeneous architectures),
    /// and external32 packs to MPI's canonical big-endian form. Run on 2 ranks.
    static func representation(_ runtime: Runtime) throws {
        let world = runtime.world
        guard world.size >= 2 else { return }
        let number = Int32(0x0102_0304)
        let real = 1.5
        if world.rank == 0 {
            try world.send([number], to: 1, tag: 1)
            try world.send([real], to: 1, tag: 2)
            try world.send(External32.pack([number]), to: 1, tag: 3)
            try world.send(External32.pack([real]), to: 1, tag: 4)
        } else if world.rank == 1 {
            let wireNumber = try world.receive(from: .rank(0), tag: .tag(1)).payload
            try expectEqual(Array(wireNumber.readableBytesView), [4, 3, 2, 1], "Int32 on the wire (little-endian)")
            let wireReal = try world.receive(from: .rank(0), tag: .tag(2)).payload
            try expectEqual(Array(wireReal.readableBytesView), [0, 0, 0, 0, 0, 0, 0xF8, 0x3F], "Double on the wire (IEEE 754, little-endian)")
            print("CHECK wire-representation ok")
            let packedNumber = try world.receive(from: .rank(0), tag: .tag(3)).payload
            try expectEqual(Array(packedNumber.readableBytesView), [1, 2, 3, 4], "Int32 in external32")
            try expectEqual(try External32.unpack(packedNumber, as: Int32.self), [number], "Int32 from external32")
            let packedReal = try world.receive(from: .rank(0), tag: .tag(4)).payload
            try expectEqual(Array(packedReal.readableBytesView), [0x3F, 0xF8, 0, 0, 0, 0, 0, 0], "Double in external32")
            try expectEqual(try External32.unpack(packedReal, as: Double.self), [real], "Double from external32")
            print("CHECK external32 ok")
        }
    }
}
