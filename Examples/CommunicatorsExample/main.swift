// New communicators: duplicate, split by color, create from a group.
//   trellis run -n 6 .build/debug/example-communicators
import TrellisRuntime

let runtime = try Runtime.initialize()
let world = runtime.world

// A library gets its own duplicate, so its messages never meet the application's.
let library = try world.duplicate()

// Rows of a 2-wide grid: ranks with the same row index form a communicator.
let row = try world.split(color: world.rank / 2, key: world.rank)!
let rowSum = try row.allreduce([world.rank], .sum)

// The first half of the world, by group.
let firstHalf = try world.group.including(ranks: Array(0..<(world.size + 1) / 2))
let half = try world.create(group: firstHalf)

print("world rank \(world.rank): row \(world.rank / 2) rank \(row.rank)/\(row.size), row sum \(rowSum[0])"
    + (half.map { ", first-half rank \($0.rank)/\($0.size)" } ?? ", not in the first half"))
half?.free()
row.free()
library.free()
try runtime.finalize()
