import NIOCore
import TrellisCore
import TrellisMPIIO
import TrellisRuntime

/// The rank side of `trellis bench ior`: IO500's two IOR workloads through
/// the MPI-IO layer. `easy`: a file per rank, written then read in 1 MiB
/// transfers. `hard`: one shared file of 47,008-byte records interleaved
/// by rank (record i of rank r at (i × ranks + r) × 47,008), each rank's
/// records through a view, `recordsPerCall` of them per call, collective
/// or independent. The ranks synchronize around each phase; a phase lasts
/// as long as its slowest rank. Every byte is checked after the timing.
public enum IORWorker {
    /// The two workloads.
    public enum Workload: String, CaseIterable, Sendable {
        case easy, hard
    }

    /// Runs both phases on every rank of `runtime.world`; the slowest rank's write and read seconds.
    public static func run(
        runtime: Runtime, fileSystem: String, mountPoint: String?, workload: Workload, collective: Bool, bytesPerRank: Int, transferBytes: Int,
        recordsPerCall: Int, hints: IOHints = IOHints()
    ) throws -> (write: Double, read: Double) {
        let world = runtime.world
        let target = try ParallelIOTarget.make(runtime: runtime, fileSystem: fileSystem, mountPoint: mountPoint)
        defer { target.close() }
        let calls = bytesPerRank / (transferBytes * recordsPerCall)
        guard calls > 0 else { throw BenchmarkFailure("\(bytesPerRank) bytes per rank is less than one call of \(recordsPerCall) × \(transferBytes) bytes") }
        let callBytes = transferBytes * recordsPerCall
        var generator = SeededGenerator(seed: UInt64(world.rank) &+ 11)
        let block = ByteBuffer(bytes: (0..<callBytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let path = workload == .easy ? "/ior-easy-\(world.rank).dat" : "/ior-hard.dat"
        let ranks = workload == .easy ? runtime.selfCommunicator : world
        let view = workload == .easy
            ? FileView.whole
            : try FileView(
                displacement: 0, etype: .contiguous(transferBytes),
                filetype: Datatype.indexed([(offset: world.rank * transferBytes, length: transferBytes)]).resized(extent: world.size * transferBytes))
        // Offsets in etypes of the view: a call's worth of records (hard), or of bytes (easy).
        let etypesPerCall = UInt64(workload == .easy ? callBytes : recordsPerCall)

        try world.barrier()
        let write = try timedSeconds {
            let file = try target.open(ranks, path: path, access: .write, hints: hints)
            try file.setView(view)
            for call in 0..<calls {
                if collective { try file.writeAll(at: UInt64(call) * etypesPerCall, block) } else { try file.write(at: UInt64(call) * etypesPerCall, block) }
            }
            try file.sync()
            try file.close()
            try world.barrier()
        }
        // Each call's bytes are checked as they come and dropped, as `bench io` does (`ConcurrentIOWorker.holds`);
        // a wrong one is reported after the phase, so the other ranks' collective calls are not left waiting.
        var firstWrong: (call: Int, bytes: Int)?
        let read = try timedSeconds {
            let file = try target.open(ranks, path: path, access: .read, hints: hints)
            try file.setView(view)
            for call in 0..<calls {
                let bytes = collective ? try file.readAll(at: UInt64(call) * etypesPerCall, bytes: callBytes) : try file.read(at: UInt64(call) * etypesPerCall, bytes: callBytes)
                if bytes != block, firstWrong == nil { firstWrong = (call, bytes.readableBytes) }
            }
            try file.close()
            try world.barrier()
        }
        if let firstWrong {
            throw BenchmarkFailure("rank \(world.rank) read back wrong bytes in call \(firstWrong.call) of \(path) (\(firstWrong.bytes) of \(callBytes) bytes)")
        }
        let slowest = try world.allreduce([write, read], .max)
        if workload == .easy || world.rank == 0 { try target.remove(path) }
        try world.barrier()
        return (slowest[0], slowest[1])
    }
}
