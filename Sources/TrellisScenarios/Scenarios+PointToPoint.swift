import Glibc
import NIOCore
import TrellisCore
import TrellisRuntime

extension Scenarios {
    /// Specific tags out of order, any-tag and any-source reporting the actual values.
    static func tags(_ runtime: Runtime) throws {
        let world = runtime.world
        guard world.size >= 2 else { return }
        if world.rank == 0 {
            for source in 1..<world.size {
                // Sent with tags 1, 2, 3; received 3, 1, 2 by tag.
                for tag in [3, 1, 2] {
                    let (values, from, got) = try world.receive(Int.self, from: .rank(source), tag: .tag(tag))
                    try expectEqual([from, got], [source, tag], "envelope")
                    try expectEqual(values, [source, tag], "payload for tag \(tag)")
                }
            }
            var seen = Set<[Int]>()
            for _ in 1..<world.size {
                let message = try world.receive(from: .any, tag: .any)
                try expectEqual(try message.values(of: Int.self), [message.source, message.tag], "any-source envelope")
                seen.insert([message.source, message.tag])
            }
            try expectEqual(seen, Set((1..<world.size).map { [$0, 100 + $0] }), "any-source any-tag")
        } else {
            for tag in [1, 2, 3] { try world.send([world.rank, tag], to: 0, tag: tag) }
            try world.send([world.rank, 100 + world.rank], to: 0, tag: 100 + world.rank)
        }
        let bad = try expectError("negative tag") { try world.isend(ByteBuffer(), to: 0, tag: -5) }
        try expectEqual((bad as? TrellisError)?.code, .invalidTag, "negative tag error")
        let outside = try expectError("rank out of range") { try world.isend(ByteBuffer(), to: world.size, tag: 0) }
        try expectEqual((outside as? TrellisError)?.code, .invalidRank, "rank out of range error")
    }

    /// Many senders at once, small and large messages mixed: from each sender,
    /// messages are received in the order sent.
    static func ordering(_ runtime: Runtime) throws {
        let world = runtime.world
        let perSender = 300
        if world.rank == 0 {
            var next = Array(repeating: 0, count: world.size)
            for _ in 0..<(perSender * (world.size - 1)) {
                let message = try world.receive(from: .any, tag: 5)
                let sequence = Int(message.payload.getInteger(at: message.payload.readerIndex, as: UInt32.self)!)
                try expectEqual(sequence, next[message.source], "sequence from rank \(message.source)")
                next[message.source] += 1
            }
        } else {
            var requests: [Request<Void>] = []
            for sequence in 0..<perSender {
                // Every tenth message is large, so it travels by rendezvous.
                let length = sequence % 10 == 9 ? 200_000 : 4 + sequence % 50
                var buffer = ByteBuffer(repeating: UInt8(sequence % 256), count: length)
                buffer.setInteger(UInt32(sequence), at: 0)
                requests.append(try world.isend(buffer, to: 0, tag: 5))
            }
            try waitAll(requests)
        }
    }

    /// A pending receive can be cancelled; a matched one cannot.
    static func cancel(_ runtime: Runtime) throws {
        let world = runtime.world
        let pending = try world.ireceive(from: .any, tag: .tag(77))
        try expect(pending.cancel(), "cancel of an unmatched receive succeeds")
        let error = try expectError("waiting on a cancelled receive") { try pending.wait() }
        try expectEqual((error as? TrellisError)?.code, .cancelled, "cancelled receive error")
        try expect(!pending.cancel(), "a second cancel does nothing")
        // Nobody sends tag 77 before this barrier, so the cancel above cannot race a message.
        try world.barrier()
        // A message for the cancelled receive's tag goes to the next receive.
        let peer = (world.rank + 1) % world.size
        let source = (world.rank - 1 + world.size) % world.size
        try world.send([world.rank], to: peer, tag: 77)
        let later = try world.receive(Int.self, from: .rank(source), tag: .tag(77))
        try expectEqual(later.values, [source], "message after a cancel")
        let matched = try world.ireceive(from: .rank(source), tag: .tag(78))
        try world.send([1], to: peer, tag: 78)
        _ = try matched.wait()
        try expect(!matched.cancel(), "cancel after completion fails")
        // waitAny returns the finished one.
        let never = try world.ireceive(from: .any, tag: .tag(79))
        let soon = try world.ireceive(from: .any, tag: .tag(80))
        try world.send([2], to: peer, tag: 80)
        try expectEqual(try waitAny([never, soon]), 1, "waitAny index")
        try expect(never.cancel(), "cancel of the other")
    }

    /// Probe sees envelope and size without receiving; iprobe finds nothing when nothing is there.
    static func probe(_ runtime: Runtime) throws {
        let world = runtime.world
        guard world.size >= 2 else { return }
        if world.rank == 1 {
            try world.send(ByteBuffer(repeating: 1, count: 10), to: 0, tag: 4)
            try world.send(ByteBuffer(repeating: 2, count: 300_000), to: 0, tag: 6)
        } else if world.rank == 0 {
            try expect(try world.iprobe(from: .any, tag: .tag(999)) == nil, "iprobe finds no message with tag 999")
            let first = try world.probe(from: .rank(1), tag: .tag(6), deadline: .after(seconds: 30))
            try expectEqual([first.source, first.tag, first.byteCount], [1, 6, 300_000], "probe of a large message")
            let small = try world.probe(from: .any, tag: .any)
            try expectEqual([small.source, small.tag, small.byteCount], [1, 4, 10], "probe of the oldest message")
            try expectEqual(try world.receive(from: .rank(1), tag: .tag(4)).payload.readableBytes, 10, "received after probe")
            try expectEqual(try world.receive(from: .rank(1), tag: .tag(6)).payload.readableBytes, 300_000, "large received after probe")
        }
    }

    /// Messages from 0 bytes up across the eager / rendezvous boundary, with contents checked.
    static func sizes(_ runtime: Runtime) throws {
        let world = runtime.world
        guard world.size >= 2, world.rank < 2 else { return }
        let lengths = [0, 1, 55, 56, 65_535, 65_536, 65_537, 1 << 20, 16 << 20]
        for (index, length) in lengths.enumerated() {
            if world.rank == 0 {
                try world.send(pattern(length, seed: index), to: 1, tag: index)
                let echoed = try world.receive(from: .rank(1), tag: .tag(index))
                try expect(echoed.payload == pattern(length, seed: index), "echo of \(length) bytes")
            } else {
                let message = try world.receive(from: .rank(0), tag: .tag(index))
                try expectEqual(message.payload.readableBytes, length, "length")
                try world.send(message.payload, to: 0, tag: index)
            }
        }
    }

    /// One message of 1 GiB, checked.
    static func huge(_ runtime: Runtime) throws {
        let world = runtime.world
        guard world.size >= 2, world.rank < 2 else { return }
        let length = 1 << 30
        if world.rank == 0 {
            try world.send(pattern(length, seed: 3), to: 1, tag: 1)
        } else {
            let message = try world.receive(from: .rank(0), tag: .tag(1))
            try expectEqual(message.payload.readableBytes, length, "1 GiB length")
            try expect(message.payload == pattern(length, seed: 3), "1 GiB content")
        }
    }

    static func pattern(_ length: Int, seed: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            for index in 0..<length { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ seed &+ index >> 12) }
            return length
        }
        return buffer
    }

    /// A large message sent before its receive is posted waits at the sender.
    static func rendezvousMemory(_ runtime: Runtime) throws {
        let world = runtime.world
        guard world.size >= 2, world.rank < 2 else { return }
        let length = 64 << 20
        if world.rank == 1 {
            try world.send(ByteBuffer(repeating: 9, count: length), to: 0, tag: 2)
        } else {
            let status = try world.probe(from: .rank(1), tag: .tag(2), deadline: .after(seconds: 60))
            try expectEqual(status.byteCount, length, "announced size")
            let held = runtime.statistics.unexpectedBytes
            try expect(held < 1 << 20, "receiver holds \(held) bytes for an unmatched 64 MiB message")
            let message = try world.receive(from: .rank(1), tag: .tag(2))
            try expectEqual(message.payload.readableBytes, length, "received length")
        }
    }

    /// With a small unexpected-queue limit, messages past it are discarded and
    /// their receives fail with a clear error; the queue recovers after.
    static func unexpectedLimit(_ runtime: Runtime) throws {
        let world = runtime.world
        guard world.size >= 2, world.rank < 2 else { return }
        // The job sets TRELLIS_UNEXPECTED_LIMIT_BYTES=100000.
        if world.rank == 1 {
            for index in 0..<10 { try world.send(ByteBuffer(repeating: UInt8(index), count: 30_000), to: 0, tag: index) }
            try world.send([1], to: 0, tag: 99)
        } else {
            _ = try world.probe(from: .rank(1), tag: .tag(99), deadline: .after(seconds: 60))
            var delivered = 0
            var discarded = 0
            for index in 0..<10 {
                do {
                    let message = try world.receive(from: .rank(1), tag: .tag(index))
                    try expectEqual(message.payload.readableBytes, 30_000, "kept message length")
                    delivered += 1
                } catch let error as TrellisError where error.code == .unexpectedQueueFull {
                    discarded += 1
                }
            }
            try expectEqual(delivered, 3, "messages kept under a 100000-byte limit")
            try expectEqual(discarded, 7, "messages discarded")
            _ = try world.receive(from: .rank(1), tag: .tag(99))
        }
    }

    /// A wait with a deadline throws timed-out and leaves the request usable.
    static func deadline(_ runtime: Runtime) throws {
        let world = runtime.world
        let request = try world.ireceive(from: .any, tag: .tag(55))
        let error = try expectError("deadline") { try request.wait(timeout: .milliseconds(50)) }
        try expectEqual((error as? TrellisError)?.code, .timedOut, "deadline error code")
        try expect(!request.isComplete, "request still pending after a timeout")
        try world.send([3], to: world.rank, tag: 55)
        try expectEqual(try request.wait().values(of: Int.self), [3], "request completes after the timeout")
    }

    /// Rank 1 dies by SIGKILL while the others wait on it; the launcher must end the job.
    static func killed(_ runtime: Runtime) throws {
        let world = runtime.world
        print("rank \(world.rank) pid \(getpid())")
        fflush(nil)
        try world.barrier()
        if world.rank == 1 { kill(getpid(), SIGKILL) }
        _ = try world.receive(from: .rank(1), tag: .tag(1))
    }
}
