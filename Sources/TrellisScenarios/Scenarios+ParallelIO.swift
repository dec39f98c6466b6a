import Glibc
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisMPIIO
import TrellisRuntime
import TrellisSystem

extension Scenarios {
    /// The MPI-IO layer, on a Trellis file system (`TRELLIS_TEST_FS_NAME`)
    /// or a POSIX file (`TRELLIS_TEST_DIR`): for each of `TRELLIS_TEST_ROUNDS`
    /// seeded rounds (`TRELLIS_TEST_SEED`), every rank gets a random view of
    /// interleaved pieces of one tile and writes a random number of tiles
    /// with one collective call under random hints; the file is checked
    /// byte by byte against a serial laying-out of every rank's bytes, then
    /// read back through the views (collective and independent, with reads
    /// past the end), with nonblocking calls, and the error cases.
    static func parallelIO(_ runtime: Runtime) throws {
        let world = runtime.world
        let seed = UInt64(ProcessEnvironment.value("TRELLIS_TEST_SEED") ?? "1")!
        let rounds = Int(ProcessEnvironment.value("TRELLIS_TEST_ROUNDS") ?? "4")!
        let client = try ProcessEnvironment.value("TRELLIS_TEST_FS_NAME").map { try FileSystemClient.connect(name: $0, runtime: runtime) }
        defer { client?.close() }
        let folder = ProcessEnvironment.value("TRELLIS_TEST_DIR") ?? "/tmp"
        for round in 0..<rounds {
            var generator = SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(round))
            let layout = RandomLayout(ranks: world.size, using: &generator)
            var hints = IOHints()
            hints.collectiveWrites = [.enable, .automatic, .disable].randomElement(using: &generator)!
            hints.collectiveReads = [.enable, .automatic, .disable].randomElement(using: &generator)!
            hints.aggregators = Int.random(in: 1...world.size, using: &generator)
            hints.collectiveBufferBytes = Int.random(in: 64...8192, using: &generator)
            let path = client == nil ? "\(folder)/parallel-io-\(seed)-\(round).dat" : "/parallel-io-\(seed)-\(round).dat"
            // A file left by an earlier, failed run goes first.
            if world.rank == 0 {
                if let client { try? client.removeFile(path) } else { unlink(path) }
            }
            try world.barrier()
            let file = try client.map { try ParallelFile.open(world, path: path, on: $0, access: .readWrite, create: true, hints: hints) }
                ?? ParallelFile.open(world, posixPath: path, access: .readWrite, create: true, hints: hints)
            let what = "round \(round) (seed \(seed), \(hints.collectiveWrites.rawValue) writes, \(hints.aggregators!) aggregators, \(hints.collectiveBufferBytes)-byte buffer)"

            let view = try FileView(displacement: layout.displacement, etype: .contiguous(1), filetype: layout.filetypes[world.rank])
            try file.setView(view)
            let mine = layout.data(of: world.rank)
            try file.writeAll(at: 0, ByteBuffer(bytes: mine))
            try file.sync()

            // Every byte of the file where the serial laying-out puts it (zeros where no rank wrote).
            let expected = layout.file()
            try expectEqual(try file.size(), UInt64(expected.count), "\(what): file size")
            try file.setView(.whole)
            let whole = try file.read(at: 0, bytes: expected.count + 100)
            try expect(Array(whole.readableBytesView) == expected, "\(what): the file as a whole differs from the serial layout at byte \(firstDifference(Array(whole.readableBytesView), expected))")

            // Back through the views: collectively, with more asked than there is (short at the end), and independently.
            try file.setView(view)
            let asked = mine.count + layout.filetypes[world.rank].byteCount
            let back = try file.readAll(at: 0, bytes: asked)
            // Past its own bytes, the places of its view that lie within the file read as zeros; the rest are past the end.
            func withinFile(at position: Int, bytes: Int) -> Int {
                view.regions(at: UInt64(position), bytes: UInt64(bytes)).reduce(0) { $0 + Int(min($1.length, UInt64(expected.count) - min($1.offset, UInt64(expected.count)))) }
            }
            let within = withinFile(at: 0, bytes: asked)
            let wanted = mine + [UInt8](repeating: 0, count: within - mine.count)
            try expect(Array(back.readableBytesView) == wanted, "\(what): rank \(world.rank) read \(back.readableBytes) bytes back collectively, expected its \(mine.count) and \(within - mine.count) zeros, or wrong ones")
            let piece = min(mine.count, 37)
            let independent = try file.read(at: UInt64(mine.count - piece), bytes: piece + 5)
            let zeros = withinFile(at: mine.count - piece, bytes: piece + 5) - piece
            try expect(
                Array(independent.readableBytesView) == Array(mine.suffix(piece)) + [UInt8](repeating: 0, count: zeros),
                "\(what): rank \(world.rank)'s last \(piece) bytes and \(zeros) zeros read on its own, got \(independent.readableBytes) bytes")

            // Nonblocking: two writes in flight past everyone's tiles (each rank its own tile), then reads.
            try file.setView(try FileView(displacement: layout.displacement + UInt64(layout.tiles.max()! * layout.extent), etype: .contiguous(1), filetype: layout.filetypes[world.rank]))
            let extra = (0..<layout.filetypes[world.rank].byteCount).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ world.rank &+ 1) }
            let half = extra.count / 2
            let writes = [try file.startWrite(at: 0, ByteBuffer(bytes: extra[..<half])), try file.startWrite(at: UInt64(half), ByteBuffer(bytes: extra[half...]))]
            for write in writes { _ = try write.wait() }
            let read = try file.startRead(at: 0, bytes: extra.count)
            try expectEqual(Array((try read.wait() ?? ByteBuffer()).readableBytesView), extra, "\(what): rank \(world.rank)'s nonblocking write and read")
            try world.barrier()

            // A view past the file's end reads nothing; a partial etype is refused.
            try file.setView(try FileView(displacement: 1 << 30, etype: .contiguous(4), filetype: .contiguous(4)))
            try expectEqual(try file.readAll(at: 0, bytes: 64).readableBytes, 0, "\(what): a read through a view past the end")
            let partial = try expectError("\(what): a read of 6 bytes of 4-byte etypes") { try file.read(at: 0, bytes: 6) }
            try expect((partial as? FSError)?.code == .invalidArgument, "\(what): a partial etype is invalid-argument, not \(partial)")

            try file.setSize(10)
            try expectEqual(try file.size(), 10, "\(what): size after setSize")
            try file.close()
            let closed = try expectError("\(what): a read after close") { try file.read(at: 0, bytes: 4) }
            try expect((closed as? FSError)?.code == .badDescriptor, "\(what): use after close is bad-descriptor, not \(closed)")
            try world.barrier()
            if world.rank == 0 {
                if let client { try client.removeFile(path) } else { unlink(path) }
            }
        }
    }

    private static func firstDifference(_ got: [UInt8], _ expected: [UInt8]) -> Int {
        zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, expected.count)
    }
}

/// A random interleaving of the ranks' pieces in one tile of the file, and
/// how many tiles each rank writes, made alike on every rank from the seed.
private struct RandomLayout {
    let displacement: UInt64
    let extent: Int
    /// Each rank's filetype: its pieces of the tile, at their offsets.
    let filetypes: [Datatype]
    /// Tiles each rank writes.
    let tiles: [Int]

    init(ranks: Int, using generator: inout SeededGenerator) {
        var pieces: [[(offset: Int, length: Int)]] = Array(repeating: [], count: ranks)
        var offset = 0
        for index in 0..<Int.random(in: ranks...(3 * ranks + 4), using: &generator) {
            // Every rank has a piece; the rest go to any rank, with gaps no rank writes now and then.
            let owner = index < ranks ? index : Int.random(in: 0..<ranks, using: &generator)
            offset += Bool.random(using: &generator) ? 0 : Int.random(in: 1...40, using: &generator)
            let length = Int.random(in: 1...300, using: &generator)
            pieces[owner].append((offset, length))
            offset += length
        }
        let extent = offset + Int.random(in: 0...30, using: &generator)
        self.extent = extent
        displacement = UInt64.random(in: 0...100, using: &generator)
        filetypes = pieces.map { try! Datatype.indexed($0).resized(extent: extent) }
        tiles = (0..<ranks).map { _ in Int.random(in: 1...4, using: &generator) }
    }

    /// Rank `rank`'s bytes: a pattern of its rank and position.
    func data(of rank: Int) -> [UInt8] {
        (0..<tiles[rank] * filetypes[rank].byteCount).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ rank &* 101 &+ 7) }
    }

    /// The file after every rank wrote its tiles, laid out byte by byte.
    func file() -> [UInt8] {
        var places: [(UInt64, UInt8)] = []
        for rank in filetypes.indices {
            let data = data(of: rank)
            var next = 0
            for tile in 0..<tiles[rank] {
                for block in filetypes[rank].blocks {
                    for byte in 0..<block.length {
                        places.append((displacement + UInt64(tile * extent + block.offset + byte), data[next]))
                        next += 1
                    }
                }
            }
        }
        var file = [UInt8](repeating: 0, count: Int(places.map { $0.0 + 1 }.max() ?? 0))
        for (place, byte) in places { file[Int(place)] = byte }
        return file
    }
}
