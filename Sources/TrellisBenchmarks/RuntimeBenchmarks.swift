import NIOCore
import TrellisCore
import TrellisRuntime

/// The Trellis side of the benchmarks, run by every rank of a job. Rank 0
/// returns the records; the others return none.
public enum RuntimeBenchmarks {
    /// Each size is measured this many times and the median reported, so one
    /// disturbed trial on a shared machine does not decide the figure.
    static let trialCount = 3

    /// Message sizes, in bytes, that `pingPong` measures by default: 8 B, 1 MiB and 16 MiB.
    public static let defaultPingPongSizes = [8, 1 << 20, 16 << 20]
    /// Sizes, in bytes, that `broadcast` measures by default: 64 MiB.
    public static let defaultBroadcastSizes = [64 << 20]
    /// Sizes, in bytes, that `allreduce` measures by default: 8 B, 1 MiB and 16 MiB.
    public static let defaultAllreduceSizes = [8, 1 << 20, 16 << 20]

    /// Half the round trip between ranks 0 and 1; other ranks wait.
    public static func pingPong(world: Communicator, sizes: [Int]) throws -> [MessagingRecord] {
        guard world.size >= 2 else { throw TrellisError(.invalidArgument, "pingpong needs at least 2 ranks (trellis run -n 2 ...)") }
        var records: [MessagingRecord] = []
        for bytes in sizes {
            let payload = ByteBuffer(repeating: 1, count: bytes)
            let count = iterations(for: bytes, small: 20000, megabytesPerRun: 512)
            let warmup = max(2, count / 10)
            var trials: [Double] = []
            for _ in 0..<trialCount {
                try world.barrier()
                var start: UInt64 = 0
                for index in 0..<(warmup + count) {
                    if index == warmup { start = MonotonicClock.nanoseconds() }
                    if world.rank == 0 {
                        try world.send(payload, to: 1, tag: 1)
                        _ = try world.receive(from: .rank(1), tag: .tag(1))
                    } else if world.rank == 1 {
                        let message = try world.receive(from: .rank(0), tag: .tag(1))
                        try world.send(message.payload, to: 0, tag: 1)
                    }
                }
                trials.append(Double(MonotonicClock.nanoseconds() - start) / 1000 / Double(count) / 2)
            }
            if world.rank == 0 {
                records.append(MessagingRecord(
                    bench: "pingpong", impl: "trellis", bytes: bytes, ranks: world.size, iterations: count,
                    latencyMicroseconds: median(trials)))
            }
        }
        return records
    }

    /// The time of one broadcast from rank 0 (MPI_Bcast) at each size, taken as
    /// the OSU benchmarks take it: a barrier before each call, the slowest rank's
    /// mean kept, the median of three trials reported. Every rank calls it.
    public static func broadcast(world: Communicator, sizes: [Int]) throws -> [MessagingRecord] {
        try timedCollective("bcast", world: world, sizes: sizes) { bytes, payload in
            _ = try world.broadcast(world.rank == 0 ? payload : nil, root: 0)
        }
    }

    /// The time of one sum allreduce of doubles (MPI_Allreduce) at each size,
    /// taken as `broadcast` takes it. Every rank calls it.
    public static func allreduce(world: Communicator, sizes: [Int]) throws -> [MessagingRecord] {
        try timedCollective("allreduce", world: world, sizes: sizes) { _, payload in
            _ = try world.allreduce(payload, Reduction<Double>.sum.operation)
        }
    }

    /// Times each call separately with a barrier between calls (as the OSU
    /// benchmarks do) and reports the slowest rank's mean.
    private static func timedCollective(
        _ name: String, world: Communicator, sizes: [Int], _ body: (Int, ByteBuffer) throws -> Void
    ) throws -> [MessagingRecord] {
        var records: [MessagingRecord] = []
        for bytes in sizes {
            let elements = bytes / 8
            let payload = ByteBuffer(wireValues: (0..<elements).map { Double(world.rank + $0) })
            let count = iterations(for: bytes, small: 2000, megabytesPerRun: 256)
            let warmup = max(2, count / 10)
            var trials: [Double] = []
            for _ in 0..<trialCount {
                var total: UInt64 = 0
                for index in 0..<(warmup + count) {
                    try world.barrier()
                    let start = MonotonicClock.nanoseconds()
                    try body(bytes, payload)
                    if index >= warmup { total += MonotonicClock.nanoseconds() - start }
                }
                let mean = Double(total) / 1000 / Double(count)
                trials.append(try world.allreduce([mean], .max)[0])
            }
            if world.rank == 0 {
                records.append(MessagingRecord(
                    bench: name, impl: "trellis", bytes: bytes, ranks: world.size, iterations: count, latencyMicroseconds: median(trials)))
            }
        }
        return records
    }
}
