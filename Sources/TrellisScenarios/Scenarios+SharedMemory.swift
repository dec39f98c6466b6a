import Foundation
import Glibc
import NIOCore
import TrellisCore
import TrellisRuntime
import TrellisSystem

extension Scenarios {
    /// The shared-memory lanes this process has mapped (one per peer on this host).
    static func mappedLanes() -> Int {
        let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
        return maps.split(separator: "\n").filter { $0.contains("memfd:trellis-lane") }.count
    }

    /// Two ranks on one host talk through a shared-memory lane (unless
    /// `TRELLIS_TRANSPORTS=tcp`); rank 1 is killed in the middle of a
    /// 256 MiB message: rank 0's receive fails with peer-failed, not a hang,
    /// and the lane is unmapped. Run with `--keep-going`.
    static func laneDeath(_ runtime: Runtime) throws {
        let world = runtime.world
        try expect(world.size == 2, "lane-death runs on 2 ranks")
        let onLanes = (ProcessEnvironment.value("TRELLIS_TRANSPORTS") ?? "shm,tcp").contains("shm")
        let deadline = Deadline.after(seconds: 120)
        // Frames both ways and a large message, so the lane is in use before the death.
        let echoed = try world.allreduce([Int64(world.rank + 1)], .sum, deadline: deadline)
        try expectEqual(echoed, [3], "allreduce before the death")
        let warmup = ByteBuffer(repeating: 5, count: 4 << 20)
        if world.rank == 0 {
            let message = try world.receive(from: .rank(1), tag: .tag(1), deadline: deadline)
            try expectEqual(message.payload, warmup, "a 4 MiB message through the lane")
            try expectEqual(mappedLanes() > 0, onLanes, "a shared-memory lane mapped (TRELLIS_TRANSPORTS allows one)")
            print("CHECK lane-in-use \(mappedLanes() > 0) ok")
            let failure = try expectError("receive of a message whose sender was killed") {
                _ = try world.receive(from: .rank(1), tag: .tag(2), deadline: deadline)
            }
            try expectEqual((failure as? TrellisError)?.code, .peerFailed, "receive from a rank killed mid-message")
            print("CHECK receive-from-killed-sender peer-failed ok")
            // The lane goes once the poller lets go of it.
            let unmapped = Deadline.after(seconds: 30)
            while mappedLanes() > 0 && !unmapped.hasPassed {
                _ = try? world.iprobe(from: .any, tag: .any)
                usleep(10_000)
            }
            try expectEqual(mappedLanes(), 0, "lanes still mapped after the peer's death")
            print("CHECK lane-unmapped ok")
        } else {
            try world.send(warmup, to: 0, tag: 1, deadline: deadline)
            let large = ByteBuffer(repeating: 9, count: 256 << 20)
            // Killed from another thread while the message streams through the lane: 5 ms in, where
            // 256 MiB take 30 ms or more even in a release build. Rank 0 expects peer-failed either way;
            // a kill before the first byte moves would still be a death the receive must report.
            let killer = Thread {
                usleep(5_000)
                kill(getpid(), SIGKILL)
            }
            killer.start()
            try world.send(large, to: 0, tag: 2, deadline: deadline)
            // The whole message got through before the kill: wait for it.
            while true { sleep(1) }
        }
    }
}
