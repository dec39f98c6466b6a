import NIOCore
import TrellisCore
import TrellisMPIIO
import TrellisRuntime

/// The rank side of `trellis bench btio`: the NAS BT-IO access pattern
/// (Wong and Van der Wijngaart, "NAS Parallel Benchmarks I/O Version 2.4"):
/// a grid² × grid cube of 5 doubles per point, block-distributed over the
/// ranks (a 3-D process grid), appended to one file at each of `steps`
/// output steps by one collective write through a subarray view; then read
/// back the same way and checked byte by byte.
public enum BTIOWorker {
    /// Bytes of one grid point: BT's five doubles.
    public static let pointBytes = 40

    /// The process grid for `ranks`: balanced, largest first (as MPI_Dims_create makes it).
    public static func processGrid(_ ranks: Int) -> [Int] {
        var factors: [Int] = []
        var left = ranks
        var divisor = 2
        while left > 1 {
            while left % divisor == 0 {
                factors.append(divisor)
                left /= divisor
            }
            divisor += 1
        }
        var dims = [1, 1, 1]
        for factor in factors.sorted(by: >) {
            let smallest = dims.indices.min { dims[$0] < dims[$1] }!
            dims[smallest] *= factor
        }
        return dims.sorted(by: >)
    }

    /// Rank `rank`'s block: its subsizes and starts along each dimension.
    public static func block(of rank: Int, ranks: Int, grid: Int) -> (subsizes: [Int], starts: [Int]) {
        let dims = processGrid(ranks)
        let coordinates = [rank / (dims[1] * dims[2]), (rank / dims[2]) % dims[1], rank % dims[2]]
        var subsizes: [Int] = []
        var starts: [Int] = []
        for dimension in 0..<3 {
            let (share, extra) = (grid / dims[dimension], grid % dims[dimension])
            let index = coordinates[dimension]
            subsizes.append(share + (index < extra ? 1 : 0))
            starts.append(index * share + min(index, extra))
        }
        return (subsizes, starts)
    }

    /// Byte `byte` of point `point` (its place in the whole cube) at step `step`: what both implementations write.
    @inline(__always) static func value(step: Int, point: Int, byte: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: point &* 40 &+ byte &+ step &* 7)
    }

    /// Every step's collective write, then every step's collective read; the slowest rank's seconds of each.
    public static func run(runtime: Runtime, fileSystem: String, mountPoint: String?, grid: Int, steps: Int) throws -> (write: Double, read: Double) {
        let world = runtime.world
        let target = try ParallelIOTarget.make(runtime: runtime, fileSystem: fileSystem, mountPoint: mountPoint)
        defer { target.close() }
        let (subsizes, starts) = block(of: world.rank, ranks: world.size, grid: grid)
        let point = try Datatype.contiguous(pointBytes)
        let filetype = try Datatype.subarray(sizes: [grid, grid, grid], subsizes: subsizes, starts: starts, elementBytes: pointBytes)
        let cubeBytes = UInt64(grid * grid * grid * pointBytes)
        // This rank's points in the order its view places them (row-major within its block).
        var points: [Int] = []
        for i in 0..<subsizes[0] {
            for j in 0..<subsizes[1] {
                for k in 0..<subsizes[2] { points.append(((starts[0] + i) * grid + starts[1] + j) * grid + starts[2] + k) }
            }
        }
        let solutions = (0..<steps).map { step in
            ByteBuffer(bytes: points.flatMap { point in (0..<pointBytes).map { value(step: step, point: point, byte: $0) } })
        }
        let path = "/btio.dat"
        try world.barrier()
        let write = try timedSeconds {
            let file = try target.open(world, path: path, access: .write, hints: IOHints())
            for step in 0..<steps {
                try file.setView(try FileView(displacement: UInt64(step) * cubeBytes, etype: point, filetype: filetype))
                try file.writeAll(at: 0, solutions[step])
            }
            try file.sync()
            try file.close()
            try world.barrier()
        }
        var back: [ByteBuffer] = []
        let read = try timedSeconds {
            let file = try target.open(world, path: path, access: .read, hints: IOHints())
            for step in 0..<steps {
                try file.setView(try FileView(displacement: UInt64(step) * cubeBytes, etype: point, filetype: filetype))
                back.append(try file.readAll(at: 0, bytes: solutions[step].readableBytes))
            }
            try file.close()
            try world.barrier()
        }
        for step in 0..<steps where back[step] != solutions[step] {
            throw BenchmarkFailure("rank \(world.rank) read back step \(step) of \(path) wrong (\(back[step].readableBytes) of \(solutions[step].readableBytes) bytes)")
        }
        let slowest = try world.allreduce([write, read], .max)
        if world.rank == 0 { try target.remove(path) }
        try world.barrier()
        return (slowest[0], slowest[1])
    }
}
