// Nonblocking requests: overlap a collective with point-to-point work,
// wait with a deadline, cancel what is no longer wanted.
//   trellis run -n 4 .build/debug/example-nonblocking
import TrellisCore
import TrellisRuntime

let runtime = try Runtime.initialize()
let world = runtime.world
let rank = world.rank

let sum = try world.iallreduce([rank], .sum)              // runs while we do other work
let fromLeft = try world.ireceive(from: .rank((rank + world.size - 1) % world.size), tag: .tag(5))
try world.send([rank], to: (rank + 1) % world.size, tag: 5)

let index = try waitAny([fromLeft, sum])
print("rank \(rank): request \(index) finished first")
let neighbour = try fromLeft.wait(timeout: .seconds(10)).values(of: Int.self)[0]
let total = try sum.wait()[0]

// A receive nobody will match: a deadline bounds the wait, cancel withdraws it.
let never = try world.ireceive(from: .any, tag: .tag(99))
do {
    _ = try never.wait(timeout: .milliseconds(20))
} catch let error as TrellisError where error.code == .timedOut {
    print("rank \(rank): the receive timed out as expected; cancelled: \(never.cancel())")
}
print("rank \(rank): left neighbour \(neighbour), sum of ranks \(total)")
try runtime.finalize()
