import Glibc
import NIOCore
import TrellisCore
import TrellisRuntime
import TrellisSystem

/// Scenarios where processes die. Run under `trellis run --keep-going`.
extension Scenarios {
    /// An eager send to a dead process may succeed (the bytes reached the
    /// kernel) or fail with `peerFailed`; it must not run into its deadline.
    static func expectReturnsWithoutHanging(_ what: String, _ body: () throws -> Void) throws {
        do { try body() } catch let error as TrellisError where error.code == .peerFailed {}
    }

    /// The last rank kills itself with SIGKILL; every survivor's collective
    /// fails (none hangs), point-to-point with it fails, everything else
    /// works, and the survivors agree on who failed and shrink.
    static func survive(_ runtime: Runtime) throws {
        let world = runtime.world
        let victim = world.size - 1
        try expect(world.size >= 3, "survive needs at least 3 ranks")
        let spare = try world.duplicate(deadline: .after(seconds: 60))
        let pairs = try world.split(color: world.rank < 2 ? 0 : nil, deadline: .after(seconds: 60))
        // Known in advance here only so the test can line the survivors up before revoking.
        let healthy = try world.split(color: world.rank == victim ? nil : 0, deadline: .after(seconds: 60))
        // One-sided epochs open across the death: rank 0 holds the victim's
        // lock, and the victim holds rank 1's exclusively.
        let window = try world.createWindow(byteCount: 64, deadline: .after(seconds: 60))
        if world.rank == 0 { try window.lock(.exclusive, rank: victim, deadline: .after(seconds: 60)) }
        if world.rank == victim { try window.lock(.exclusive, rank: 1, deadline: .after(seconds: 60)) }
        try world.barrier(deadline: .after(seconds: 60))
        // The victim dies only once every survivor is past the barrier, which would fail otherwise.
        if world.rank == victim {
            _ = try world.receive(from: .rank(0), tag: .tag(8), deadline: .after(seconds: 60))
            kill(getpid(), SIGKILL)
        }
        try healthy!.barrier(deadline: .after(seconds: 60))
        if world.rank == 0 { try world.send([Int64(1)], to: victim, tag: 8) }

        let deadline = Deadline.after(seconds: 60)
        // A receive from the dead rank and a large send to it fail; neither hangs.
        if world.rank == 0 {
            let receive = try expectError("receive from the killed rank") { try world.receive(from: .rank(victim), tag: .tag(9), deadline: deadline) }
            try expectEqual((receive as? TrellisError)?.code, .peerFailed, "receive from a dead rank")
            print("CHECK receive-from-dead ok")
            try expectReturnsWithoutHanging("eager send to the killed rank") { try world.send([Int64(1)], to: victim, tag: 9, deadline: deadline) }
            print("CHECK eager-send-to-dead ok")
            let large = ByteBuffer(repeating: 7, count: 4 << 20)
            let send = try expectError("large send to the killed rank") { try world.send(large, to: victim, tag: 9, deadline: deadline) }
            try expectEqual((send as? TrellisError)?.code, .peerFailed, "large send to a dead rank")
            print("CHECK rendezvous-send-to-dead ok")
            // A put in the open epoch, then unlock and flush: errors, not hangs (MPICH's unlock hangs here).
            let put = try? window.put(ByteBuffer(repeating: 2, count: 8), to: victim, offset: 0)
            let unlock = try expectError("unlock of the killed rank's window") { try window.unlock(rank: victim, deadline: deadline) }
            try expectEqual((unlock as? TrellisError)?.code, .peerFailed, "unlock at a dead target")
            if let put { try expectEqual((try expectError("put to the killed rank") { try put.wait(deadline: deadline) } as? TrellisError)?.code, .peerFailed, "put to a dead target") }
            let flush = try expectError("flush to the killed rank") { try window.flush(rank: victim, deadline: deadline) }
            try expectEqual((flush as? TrellisError)?.code, .peerFailed, "flush at a dead target")
            print("CHECK one-sided-to-dead ok")
        }
        if world.rank == 1 {
            // The dead origin's exclusive lock on this rank's window was given back.
            let lock = try expectError("lock of the killed rank's window") { try window.lock(rank: victim, deadline: deadline) }
            try expectEqual((lock as? TrellisError)?.code, .peerFailed, "lock at a dead target")
            try window.lock(.exclusive, rank: 1, deadline: deadline)
            try window.put(ByteBuffer(wireValues: [Int64(11)]), to: 1, offset: 0)
            let value = try window.get(byteCount: 8, from: 1, offset: 0)
            try window.unlock(rank: 1, deadline: deadline)
            try expectEqual(try value.wait().wireValues(of: Int64.self), [11], "window after its locker died")
            print("CHECK lock-of-dead-origin-released ok")
        }
        window.free()
        // Collectives on every communicator that had the victim fail on every survivor.
        let barrier = try expectError("barrier after a member died") { try world.barrier(deadline: deadline) }
        try expectEqual((barrier as? TrellisError)?.code, .peerFailed, "barrier error at rank \(world.rank)")
        let allreduce = try expectError("allreduce on a duplicate after a member died") { try spare.allreduce([Int64(1)], .sum, deadline: deadline) }
        try expectEqual((allreduce as? TrellisError)?.code, .peerFailed, "allreduce error at rank \(world.rank)")
        print("CHECK collective-failed-at-survivor ok")
        // A communicator without the victim is untouched.
        if let pairs {
            try expectEqual(try pairs.allreduce([Int64(1)], .sum, deadline: deadline), [2], "collective on a communicator of survivors")
            if world.rank == 0 { print("CHECK healthy-communicator ok") }
        }
        // Point-to-point between survivors still works on the damaged communicator.
        let next = (world.rank + 1) % victim
        let previous = (world.rank + victim - 1) % victim
        let incoming = try world.ireceive(from: .rank(previous), tag: .tag(11))
        try world.send([Int64(world.rank)], to: next, tag: 11, deadline: deadline)
        try expectEqual(try incoming.wait(deadline: deadline).values(of: Int64.self), [Int64(previous)], "ring among survivors")

        try healthy!.barrier(deadline: deadline)
        world.revoke()
        let revoked = try expectError("send on a revoked communicator") { try world.send([Int64(1)], to: next, tag: 12) }
        try expectEqual((revoked as? TrellisError)?.code, .revoked, "revoked communicator error")
        let agreement = try world.agree(flag: world.rank == 0 ? 0b110 : 0b111, deadline: deadline)
        try expectEqual(agreement.failedRanks, [victim], "agreed failed ranks")
        try expectEqual(agreement.flag, 0b110, "agreed flag")
        let survivors = try world.shrink(deadline: deadline)
        try expectEqual(survivors.size, world.size - 1, "size after shrink")
        try expectEqual(survivors.rank, world.rank, "rank after shrink")
        let sum = try survivors.allreduce([Int64(world.rank)], .sum, deadline: deadline)[0]
        try expectEqual(Int(sum), (world.size - 1) * (world.size - 2) / 2, "allreduce over the survivors")
        try survivors.barrier(deadline: deadline)
        if survivors.rank == 0 { print("SURVIVED the loss of rank \(victim)") }
    }

    /// A server (singleton) that serves clients without a thread parked in
    /// accept, echoing what each sends, and survives clients killed at any
    /// point; it stops when a client sends tag 99, then checks that nothing
    /// of the dead clients is left.
    static func echoServer(_ runtime: Runtime) throws {
        let service = try parameter("TRELLIS_TEST_SERVICE")
        let port = runtime.openPort()
        try runtime.publish(name: service, port: port.name.description)
        var accept = try runtime.selfCommunicator.iaccept(port)
        var sessions: [(client: Communicator, pending: Request<Message>)] = []
        var served = 0
        var lost = 0
        var stopping = false
        while !stopping {
            let waitables: [any Waitable] = [accept] + sessions.map(\.pending)
            let index = try waitAny(waitables, deadline: .after(seconds: 300))
            if index == 0 {
                let client = try accept.wait()
                served += 1
                sessions.append((client, try client.ireceive(from: .rank(0))))
                accept = try runtime.selfCommunicator.iaccept(port)
                continue
            }
            let session = sessions[index - 1]
            do {
                let message = try session.pending.wait()
                if message.tag == 99 { stopping = true }
                try session.client.send(message.payload, to: 0, tag: message.tag, deadline: .after(seconds: 30))
                sessions[index - 1].pending = try session.client.ireceive(from: .rank(0))
            } catch {
                lost += 1
                _ = session.client.idisconnect()
                sessions.remove(at: index - 1)
            }
        }
        try expect(accept.cancel(), "the last accept can be cancelled")
        for session in sessions {
            _ = session.pending.cancel()
            try session.client.disconnect(deadline: .after(seconds: 30))
        }
        try runtime.unpublish(name: service)
        port.close()
        let statistics = runtime.statistics
        try expectEqual(statistics.postedReceives, 0, "posted receives left")
        try expectEqual(statistics.unexpectedMessages, 0, "queued messages left")
        try expectEqual(statistics.pendingLargeSends, 0, "large sends left")
        print("ECHO SERVER served \(served) clients, lost \(lost)")
    }

    /// A client of `echoServer`: sends messages of many sizes (eager and
    /// rendezvous) and checks the echoes, forever, or `TRELLIS_TEST_ROUNDS`
    /// times and then tells the server to stop.
    static func echoClient(_ runtime: Runtime) throws {
        let service = try parameter("TRELLIS_TEST_SERVICE")
        let rounds = ProcessEnvironment.value("TRELLIS_TEST_ROUNDS").flatMap(Int.init)
        let portName = try runtime.lookup(name: service, deadline: .after(seconds: 60))
        let server = try runtime.selfCommunicator.connect(to: portName, deadline: .after(seconds: 60))
        let sizes = [1, 100, 70_000, 1 << 20, 3 << 20]
        var round = 0
        while rounds.map({ round < $0 }) ?? true {
            let size = sizes[round % sizes.count]
            let payload = ByteBuffer(repeating: UInt8(truncatingIfNeeded: round), count: size)
            try server.send(payload, to: 0, tag: 1, deadline: .after(seconds: 60))
            let echo = try server.receive(from: .rank(0), tag: .tag(1), deadline: .after(seconds: 60))
            try expectEqual(echo.payload, payload, "echo of \(size) bytes")
            round += 1
        }
        try server.send(ByteBuffer(), to: 0, tag: 99, deadline: .after(seconds: 60))
        _ = try server.receive(from: .rank(0), tag: .tag(99), deadline: .after(seconds: 60))
        try server.disconnect(deadline: .after(seconds: 30))
        print("ECHO CLIENT done after \(round) rounds")
    }
}

extension Scenarios {
    /// The storage job of Table 2 of the MPI storage-transport paper (the
    /// paper on MPI as the transport of a replicated, striped storage
    /// service): a client connects, merges, and is killed; every operation
    /// with it returns (error or success, never a hang), the job's own
    /// communication goes on, and a new client is served.
    static func failureServer(_ runtime: Runtime) throws {
        let world = runtime.world
        let service = try parameter("TRELLIS_TEST_SERVICE")
        let port: Port? = world.rank == 0 ? runtime.openPort() : nil
        if let port { try runtime.publish(name: service, port: port.name.description) }
        let deadline = Deadline.after(seconds: 60)
        let client = try world.accept(port, deadline: deadline)
        let merged = try client.merge(high: false, deadline: deadline)
        try merged.barrier(deadline: deadline)
        // The client exposes memory; server rank 0 writes into it under a shared lock, as the servers of the
        // MPI storage-transport paper do.
        let window = try merged.createWindow(byteCount: 0, deadline: deadline)
        let clientRank = merged.size - 1
        if world.rank == 0 {
            try window.lock(.shared, rank: clientRank, deadline: deadline)
            try window.put(ByteBuffer(repeating: 5, count: 1024), to: clientRank, offset: 0)
            try window.flush(rank: clientRank, deadline: deadline)
        }
        try world.barrier(deadline: deadline)
        if world.rank == 0 {
            try client.send([Int64(1)], to: 0, tag: 7, deadline: deadline)
            let receive = try expectError("receive from the killed client") { try client.receive(from: .rank(0), tag: .tag(8), deadline: deadline) }
            try expectEqual((receive as? TrellisError)?.code, .peerFailed, "receive from a dead client")
            print("CHECK receive-from-dead-client ok")
            try expectReturnsWithoutHanging("eager send to the killed client") { try client.send([Int64(1)], to: 0, tag: 9, deadline: deadline) }
            print("CHECK eager-send-to-dead-client ok")
            let large = try expectError("large send to the killed client") {
                try client.send(ByteBuffer(repeating: 1, count: 4 << 20), to: 0, tag: 9, deadline: deadline)
            }
            try expectEqual((large as? TrellisError)?.code, .peerFailed, "large send to a dead client")
            print("CHECK rendezvous-send-to-dead-client ok")
            _ = try? window.put(ByteBuffer(repeating: 6, count: 1024), to: clientRank, offset: 0)
            let unlock = try expectError("unlock of the killed client's window") { try window.unlock(rank: clientRank, deadline: deadline) }
            try expectEqual((unlock as? TrellisError)?.code, .peerFailed, "unlock at a dead client")
        }
        let collective = try expectError("allreduce with the killed client") { try merged.allreduce([Int64(1)], .sum, deadline: deadline) }
        try expectEqual((collective as? TrellisError)?.code, .peerFailed, "collective with a dead client at rank \(world.rank)")
        print("CHECK collective-with-dead-client-failed ok")
        if world.rank != 0 {
            let lock = try expectError("lock of the killed client's window") { try window.lock(rank: clientRank, deadline: deadline) }
            try expectEqual((lock as? TrellisError)?.code, .peerFailed, "lock at a dead client")
        }
        print("CHECK one-sided-with-dead-client ok")
        window.free()
        try expectEqual(try world.allreduce([Int64(1)], .sum, deadline: deadline), [Int64(world.size)], "the storage job's own allreduce")
        if world.rank == 0 { print("CHECK internal-communication ok") }
        merged.free()
        try client.disconnect(deadline: deadline)
        if world.rank == 0 { print("CHECK disconnect-from-dead-client ok") }
        try serveOneClient(world: world, port: port)
        if let port {
            try runtime.unpublish(name: service)
            port.close()
        }
        try world.barrier(deadline: deadline)
        if world.rank == 0 { print("CHECK serves-new-clients ok") }
    }

    /// The client that dies: connects, merges, waits for the word, SIGKILLs itself.
    static func failureClient(_ runtime: Runtime) throws {
        let service = try parameter("TRELLIS_TEST_SERVICE")
        let portName = try runtime.lookup(name: service, deadline: .after(seconds: 60))
        let server = try runtime.world.connect(to: portName, deadline: .after(seconds: 60))
        let merged = try server.merge(high: true, deadline: .after(seconds: 60))
        try merged.barrier(deadline: .after(seconds: 60))
        let window = try merged.createWindow(byteCount: 4096, deadline: .after(seconds: 60))
        _ = window
        _ = try server.receive(from: .rank(0), tag: .tag(7), deadline: .after(seconds: 60))
        kill(getpid(), SIGKILL)
    }
}

extension Scenarios {
    /// Ranks run collectives and point-to-point in a loop until someone
    /// outside kills one of them (`kill -9`, at a random moment); the
    /// survivors then revoke, agree on who died, shrink and go on.
    static func recover(_ runtime: Runtime) throws {
        let world = runtime.world
        print("rank \(world.rank) pid \(getpid())")
        fflush(nil)  // the killer outside reads it while this runs
        try world.barrier(deadline: .after(seconds: 60))
        let deadline = Deadline.after(seconds: 120)
        var rounds = 0
        do {
            while !deadline.hasPassed {
                let sum = try world.allreduce([Int64(1)], .sum, deadline: deadline)[0]
                try expectEqual(Int(sum), world.size, "allreduce before the failure")
                let right = (world.rank + 1) % world.size
                let left = (world.rank + world.size - 1) % world.size
                let incoming = try world.ireceive(from: .rank(left), tag: .tag(rounds % 1000))
                try world.send(ByteBuffer(repeating: 1, count: rounds % 3 == 0 ? 200_000 : 64), to: right, tag: rounds % 1000, deadline: deadline)
                _ = try incoming.wait(deadline: deadline)
                rounds += 1
            }
            throw CheckFailure(description: "no rank died within the time limit")
        } catch let error as TrellisError where error.code == .peerFailed || error.code == .revoked {
            world.revoke()
        }
        let outcome = try world.agree(deadline: .after(seconds: 60))
        let survivors = try world.shrink(deadline: .after(seconds: 60))
        try expectEqual(survivors.size, world.size - outcome.failedRanks.count, "survivors after shrink")
        let sum = try survivors.allreduce([Int64(1)], .sum, deadline: .after(seconds: 60))[0]
        try expectEqual(Int(sum), survivors.size, "allreduce over the survivors")
        if survivors.rank == 0 { print("RECOVERED without rank(s) \(outcome.failedRanks) after \(rounds) rounds") }
    }
}

extension Scenarios {
    /// One side of a connection whose network link is cut (the test takes
    /// the veth between two network namespaces down): a pending receive
    /// must fail with `peerFailed` within the failure-detection time, long
    /// before its own deadline. Once the test brings the link back (it
    /// writes TRELLIS_TEST_JOIN_FILE.up), the client connects to the same
    /// port again: the new communicator carries messages both ways, and the
    /// old one stays failed on both sides (each dropped its part of it), so
    /// a request sent on it fails at once rather than wait for an answer
    /// that will never come. `link-server` writes its port name to
    /// TRELLIS_TEST_JOIN_FILE; `link-client` reads it.
    static func linkServer(_ runtime: Runtime) throws {
        let file = try parameter("TRELLIS_TEST_JOIN_FILE")
        let port = runtime.openPort()
        try TestSockets.writeFile(file, port.name.description)
        let client = try runtime.selfCommunicator.accept(port, deadline: .after(seconds: 60))
        try awaitLinkLoss(client)
        _ = try TestSockets.readFile(file + ".up")
        let again = try runtime.selfCommunicator.accept(port, deadline: .after(seconds: 60))
        let asked = try again.receive(Int64.self, from: .rank(0), tag: .tag(4), deadline: .after(seconds: 30)).values
        try again.send(asked.map { $0 + 1 }, to: 0, tag: 4)
        try expectOldLineFailed(client)
        _ = try again.receive(from: .rank(0), tag: .tag(5), deadline: .after(seconds: 30))
    }

    static func linkClient(_ runtime: Runtime) throws {
        let file = try parameter("TRELLIS_TEST_JOIN_FILE")
        let portName = try TestSockets.readFile(file)
        let server = try runtime.selfCommunicator.connect(to: portName, deadline: .after(seconds: 60))
        try awaitLinkLoss(server)
        _ = try TestSockets.readFile(file + ".up")
        let again = try runtime.selfCommunicator.connect(to: portName, deadline: .after(seconds: 60))
        try again.send([Int64(41)], to: 0, tag: 4)
        let answer = try again.receive(Int64.self, from: .rank(0), tag: .tag(4), deadline: .after(seconds: 30)).values
        try expectEqual(answer, [42], "the answer on the new connection after the link came back")
        try expectOldLineFailed(server)
        try again.send([Int64(0)], to: 0, tag: 5)
    }

    private static func awaitLinkLoss(_ peer: Communicator) throws {
        try peer.send([Int64(1)], to: 0, tag: 1)
        _ = try peer.receive(from: .rank(0), tag: .tag(1), deadline: .after(seconds: 30))
        print("CONNECTED")
        fflush(nil)
        let start = MonotonicClock.nanoseconds()
        let error = try expectError("receive across a cut link") { try peer.receive(from: .rank(0), tag: .tag(2), deadline: .after(seconds: 90)) }
        try expectEqual((error as? TrellisError)?.code, .peerFailed, "error for a peer behind a cut link: \(error)")
        print("LINK LOSS detected after \(Double(MonotonicClock.nanoseconds() - start) / 1e9) s: \(error)")
        fflush(nil)
    }

    /// The communicator the link loss broke: a send and a receive on it fail
    /// with `peerFailed` at once (well before the receive's deadline).
    private static func expectOldLineFailed(_ old: Communicator) throws {
        let sent = try expectError("send on the communicator a cut link broke") { try old.send([Int64(3)], to: 0, tag: 3) }
        try expectEqual((sent as? TrellisError)?.code, .peerFailed, "send on the old communicator: \(sent)")
        let received = try expectError("receive on the communicator a cut link broke") {
            try old.receive(from: .rank(0), tag: .tag(3), deadline: .after(seconds: 20))
        }
        try expectEqual((received as? TrellisError)?.code, .peerFailed, "receive on the old communicator: \(received)")
        print("OLD LINE FAILED, NEW LINE WORKS")
        fflush(nil)
    }
}
