// Collectives on the world communicator.
//   trellis run -n 4 .build/debug/example-collectives
import NIOCore
import TrellisRuntime

let runtime = try Runtime.initialize()
let world = runtime.world
let rank = world.rank

let settings = try world.broadcast(rank == 0 ? ByteBuffer(string: "step=0.1") : nil, root: 0)
let total = try world.allreduce([Double(rank), 1.0], .sum)            // [sum of ranks, size]
let largest = try world.reduce([rank * rank], .max, root: 0)             // only rank 0 gets a value
let everyone = try world.allgather([rank])                               // [[0], [1], ...]
let prefix = try world.scan([1], .sum)                                   // rank + 1
let shares = try world.scatter(rank == 0 ? (0..<world.size).map { [$0 * 10] } : nil, root: 0)
let swapped = try world.alltoall((0..<world.size).map { [rank * 100 + $0] })
try world.barrier()

print("rank \(rank): settings '\(String(buffer: settings))', sum \(total[0]) over \(Int(total[1])) ranks, "
    + "allgather \(everyone.map { $0[0] }), scan \(prefix[0]), scatter \(shares[0]), alltoall \(swapped.map { $0[0] })"
    + (largest.map { ", max of squares \($0[0])" } ?? ""))
try runtime.finalize()
