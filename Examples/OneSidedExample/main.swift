// One-sided windows: every rank takes tickets from a counter at rank 0 and
// writes a greeting into its right neighbour's memory, which does nothing.
//   trellis run -n 4 .build/debug/example-one-sided
import NIOCore
import TrellisRuntime

let runtime = try Runtime.initialize()
let world = runtime.world
let right = (world.rank + 1) % world.size
let window = try world.createWindow(byteCount: 4096)

// Passive target: rank 1 takes no part while others lock, write and read it.
try window.lock(.exclusive, rank: right)
try window.put(ByteBuffer(string: "hello from \(world.rank)"), to: right, offset: 0)
let echo = try window.get(byteCount: 12, from: right, offset: 0)
try window.unlock(rank: right)                      // both have taken effect
let greeting = String(buffer: try echo.wait())
precondition(greeting == "hello from \(world.rank)")

// An atomic counter: fetch-and-add hands out distinct tickets.
try window.lock(.shared, rank: 0)
let ticket = try window.fetchAndAccumulate([Int64(1)], .sum, to: 0, offset: 512).wait()[0]
try window.unlock(rank: 0)

// A strided layout at the target: every other 8-byte slot from offset 1024.
let slots = try Datatype.vector(count: 4, blockLength: 8, stride: 16)
try window.lock(.exclusive, rank: right)
try window.put(ByteBuffer(wireValues: [Int64](repeating: Int64(world.rank), count: 4)), to: right, offset: 1024, layout: slots)
try window.unlock(rank: right)

let tickets = try world.allgather([ticket]).map { $0[0] }.sorted()
if world.rank == 0 {
    let counter = try window.withLocalMemory { Int64(littleEndian: $0.load(fromByteOffset: 512, as: Int64.self)) }
    print("tickets \(tickets), counter \(counter)")
}
try world.barrier()
window.free()
try runtime.finalize()
