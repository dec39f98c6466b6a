// A token travels around the ring of ranks; each adds its rank.
//   trellis run -n 4 .build/debug/example-ring
import NIOCore
import TrellisRuntime

let runtime = try Runtime.initialize()
let world = runtime.world
let right = (world.rank + 1) % world.size
let left = (world.rank + world.size - 1) % world.size

if world.rank == 0 {
    try world.send([0], to: right, tag: 1)
    let (token, source, _) = try world.receive(Int.self, from: .rank(left), tag: .tag(1), deadline: .after(seconds: 30))
    print("the token came back from rank \(source) holding \(token[0])")
} else {
    let (token, _, _) = try world.receive(Int.self, from: .rank(left), tag: .tag(1))
    try world.send([token[0] + world.rank], to: right, tag: 1)
}

// Any-source receive: rank 0 hears from every other rank, in whatever order they arrive.
if world.rank == 0 {
    for _ in 1..<world.size {
        let message = try world.receive(from: .any, tag: .tag(2))
        print("rank 0 got '\(String(buffer: message.payload))' from rank \(message.source)")
    }
} else {
    try world.send(ByteBuffer(string: "hello from \(world.rank)"), to: 0, tag: 2)
}
try runtime.finalize()
