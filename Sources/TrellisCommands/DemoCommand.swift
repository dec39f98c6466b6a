import ArgumentParser
import NIOCore
import TrellisCore
import TrellisLauncher
import TrellisRuntime
import TrellisRunCommand
import TrellisSystem

/// `trellis demo`: a small job that shows point-to-point and collectives at work.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a demonstration job of several local ranks and print what it did.")

    @Option(name: .short, help: "Number of ranks (when not started by trellis run).")
    var n: Int = 4

    mutating func run() throws {
        TrellisCommand.bootstrapLogging()
        guard ProcessEnvironment.value("PMI_FD") != nil else {
            // Not under a launcher: launch ourselves as a job.
            var options = LaunchOptions(rankCount: n, program: [currentExecutablePath(), "demo"])
            options.tagOutput = true
            let code = try JobLauncher(options: options).run()
            if code != 0 { throw ExitCode(code) }
            return
        }
        let runtime = try Runtime.initialize()
        try DemoJob(world: runtime.world).run()
        try runtime.finalize()
    }
}

struct DemoJob {
    let world: Communicator

    func say(_ text: String) { print(text) }

    func run() throws {
        let rank = world.rank
        let size = world.size
        say("rank \(rank) of \(size) is up")
        try world.barrier()

        // A token travels around the ring; each rank adds its rank.
        let right = (rank + 1) % size
        let left = (rank - 1 + size) % size
        if rank == 0 {
            try world.send([0], to: right, tag: 1)
            let (values, source, _) = try world.receive(Int.self, from: .rank(left), tag: 1)
            say("ring: the token came back from rank \(source) carrying \(values[0]) (expected \((0..<size).reduce(0, +)))")
        } else {
            let (values, _, _) = try world.receive(Int.self, from: .rank(left), tag: 1)
            try world.send([values[0] + rank], to: right, tag: 1)
        }

        // Any-source receives at rank 0: every rank reports in.
        if rank == 0 {
            var heard: [Int] = []
            for _ in 1..<size { heard.append(try world.receive(from: .any, tag: 2).source) }
            say("any-source: rank 0 heard from ranks \(heard.sorted())")
        } else {
            try world.send(ByteBuffer(string: "hello from \(rank)"), to: 0, tag: 2)
        }

        let sum = try world.allreduce([Double(rank + 1)], .sum)
        let maximum = try world.allreduce([rank * rank], .max)
        let announced = try world.broadcast(rank == 0 ? ByteBuffer(string: "the broadcast from rank 0") : nil, root: 0)
        let gathered = try world.allgather([rank * 10])
        let prefix = try world.scan([1], .sum)
        let swapped = try world.alltoall((0..<size).map { [rank * 100 + $0] })
        let pending = try world.iallreduce([rank], .sum)
        try world.barrier()
        let overlapped = try pending.wait()
        say("rank \(rank): allreduce sum=\(sum[0]) max=\(maximum[0]); broadcast '\(String(buffer: announced))'; allgather \(gathered.map { $0[0] }); scan \(prefix[0]); alltoall got \(swapped.map { $0[0] }); nonblocking allreduce \(overlapped[0])")

        let halves = try world.split(color: rank % 2, key: rank)!
        let halfSum = try halves.allreduce([rank], .sum)
        say("rank \(rank): in the \(rank % 2 == 0 ? "even" : "odd") half as rank \(halves.rank) of \(halves.size), whose ranks sum to \(halfSum[0])")
        halves.free()
        try world.barrier()
        if rank == 0 { say("demo finished: point-to-point, collectives and communicator split all worked on \(size) ranks") }
    }
}
