import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisRuntime

extension Scenarios {
    /// One of many concurrent writers of one file: writer `i` of `n` writes
    /// blocks `i`, `i + n`, `i + 2n`, ... (each `TRELLIS_TEST_BLOCK` bytes,
    /// filled with a pattern of its index), in one strided call and then
    /// block by block again, with no locks.
    static func fsWriter(_ runtime: Runtime) throws {
        let name = try parameter("TRELLIS_TEST_FS_NAME")
        let path = try parameter("TRELLIS_TEST_FS_PATH")
        let writer = Int(try parameter("TRELLIS_TEST_WRITER"))!
        let writers = Int(try parameter("TRELLIS_TEST_WRITERS"))!
        let block = Int(try parameter("TRELLIS_TEST_BLOCK"))!
        let rounds = Int(try parameter("TRELLIS_TEST_ROUNDS"))!
        let fs = try FileSystemClient.connect(name: name, runtime: runtime)
        defer { fs.close() }
        let mine = (0..<rounds * block).map { UInt8(truncatingIfNeeded: writer &* 41 &+ $0 / block &+ $0) }
        let pattern = try AccessPattern.strided(offset: UInt64(writer * block), groupSize: UInt64(block), stride: UInt64(writers * block), count: UInt64(rounds))
        try expectEqual(try fs.write(path, ByteBuffer(bytes: mine), pattern: pattern), UInt64(mine.count), "bytes written by writer \(writer)")
        for round in 0..<rounds {
            let offset = UInt64((round * writers + writer) * block)
            try fs.write(path, ByteBuffer(bytes: mine[round * block..<(round + 1) * block]), at: offset)
        }
        print("WRITER \(writer) wrote \(rounds) blocks of \(block) bytes")
    }
}
