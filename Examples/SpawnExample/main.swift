// A parent starts workers with spawn, hands each a number, and sums what
// they send back; the workers find their parent in `runtime.parent`.
//   .build/debug/example-spawn            (a singleton parent)
//   trellis run -n 2 .build/debug/example-spawn
import TrellisCore
import TrellisRuntime

let runtime = try Runtime.initialize()

if let parent = runtime.parent {
    // A worker: square the number from the parents' rank 0.
    let (values, _, _) = try parent.receive(Int.self, from: .rank(0), tag: .tag(1), deadline: .after(seconds: 30))
    try parent.send([values[0] * values[0]], to: 0, tag: 2)
    try parent.disconnect()
} else {
    let world = runtime.world
    let workers = try world.spawn([CommandLine.arguments[0]], count: 4, deadline: .after(seconds: 60))
    if world.rank == 0 {
        for worker in 0..<workers.remoteSize { try workers.send([worker + 1], to: worker, tag: 1) }
        var sum = 0
        for _ in 0..<workers.remoteSize {
            sum += try workers.receive(Int.self, from: .any, tag: .tag(2), deadline: .after(seconds: 30)).values[0]
        }
        print("sum of squares from \(workers.remoteSize) spawned workers: \(sum)")
    }
    try workers.disconnect()
}
try runtime.finalize()
