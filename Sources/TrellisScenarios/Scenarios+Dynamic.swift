import Glibc
import NIOCore
import TrellisCore
import TrellisRuntime
import TrellisSystem

/// Scenarios between independently started processes. Parameters come from
/// the environment: TRELLIS_TEST_SERVICE (name), TRELLIS_TEST_CLIENTS.
extension Scenarios {
    static func parameter(_ key: String) throws -> String {
        guard let value = ProcessEnvironment.value(key) else { throw CheckFailure(description: "set \(key)") }
        return value
    }

    /// The server job: open a port, publish it, accept clients one after
    /// another (collectively), echo, merge, disconnect.
    static func serve(_ runtime: Runtime) throws {
        let world = runtime.world
        let service = try parameter("TRELLIS_TEST_SERVICE")
        let clients = Int(try parameter("TRELLIS_TEST_CLIENTS")) ?? 1
        let port: Port? = world.rank == 0 ? runtime.openPort() : nil
        if let port { try runtime.publish(name: service, port: port.name.description) }
        for _ in 0..<clients {
            try serveOneClient(world: world, port: port)
        }
        if let port {
            try runtime.unpublish(name: service)
            port.close()
        }
        try world.barrier(deadline: .after(seconds: 60))
        if world.rank == 0 { print("SERVED \(clients) clients") }
    }

    /// Accepts one client job and runs the echo / merge / disconnect protocol with it.
    static func serveOneClient(world: Communicator, port: Port?) throws {
        let inter = try world.accept(port, deadline: .after(seconds: 120))
        try expect(inter.isIntercommunicator, "accept gives an intercommunicator")
        try expectEqual(inter.size, world.size, "local size of the intercommunicator")
        if world.rank == 0 {
            for _ in 0..<inter.remoteSize {
                let message = try inter.receive(from: .any, tag: .tag(5), deadline: .after(seconds: 60))
                let value = try message.values(of: Int64.self)[0]
                try expectEqual(Int(value), message.source + 100, "client rank \(message.source) sent its rank + 100")
                try inter.send([value * 2], to: message.source, tag: 6, deadline: .after(seconds: 60))
            }
        }
        let merged = try inter.merge(high: false, deadline: .after(seconds: 60))
        try expectEqual(merged.size, world.size + inter.remoteSize, "merged size")
        try expectEqual(merged.rank, world.rank, "the low side comes first")
        let sum = try merged.allreduce([Int64(merged.rank)], .sum, deadline: .after(seconds: 60))[0]
        try expectEqual(Int(sum), merged.size * (merged.size - 1) / 2, "allreduce over the merged communicator")
        merged.free()
        try inter.disconnect(deadline: .after(seconds: 30))
    }

    /// The client job: find the service, connect, talk, merge, disconnect.
    static func client(_ runtime: Runtime) throws {
        let world = runtime.world
        let service = try parameter("TRELLIS_TEST_SERVICE")
        let portName = world.rank == 0 ? try runtime.lookup(name: service, deadline: .after(seconds: 60)) : ""
        let inter = try world.connect(to: portName, deadline: .after(seconds: 120))
        try inter.send([Int64(world.rank + 100)], to: 0, tag: 5)
        let reply = try inter.receive(Int64.self, from: .rank(0), tag: .tag(6), deadline: .after(seconds: 60))
        try expectEqual(reply.values, [Int64(2 * (world.rank + 100))], "echo from the server")
        let merged = try inter.merge(high: true, deadline: .after(seconds: 60))
        try expectEqual(merged.rank, inter.remoteSize + world.rank, "the high side comes second")
        let sum = try merged.allreduce([Int64(merged.rank)], .sum, deadline: .after(seconds: 60))[0]
        try expectEqual(Int(sum), merged.size * (merged.size - 1) / 2, "allreduce over the merged communicator")
        merged.free()
        try inter.disconnect(deadline: .after(seconds: 30))
        try world.barrier(deadline: .after(seconds: 60))
        if world.rank == 0 { print("CONNECTED as \(world.size) ranks") }
    }

    /// Accept without a parked thread: test, deadline, cancel; refused and
    /// withdrawn connects. Uses a second runtime in this process as a client.
    static func acceptControls(_ runtime: Runtime) throws {
        let me = runtime.selfCommunicator
        let port = runtime.openPort()
        let pending = try me.iaccept(port)
        try expect(try pending.test() == nil, "no client yet")
        let timeout = try expectError("accept with a short deadline") { try pending.wait(deadline: .after(seconds: 0.2)) }
        try expectEqual((timeout as? TrellisError)?.code, .timedOut, "accept deadline error")
        try expect(pending.cancel(), "a waiting accept can be cancelled")
        let cancelled = try expectError("waiting on a cancelled accept") { try pending.wait() }
        try expectEqual((cancelled as? TrellisError)?.code, .cancelled, "cancelled accept error")

        let other = try Runtime.initialize(asSingleton: true)
        let closed = other.openPort()
        closed.close()
        let refused = try expectError("connect to a closed port") {
            try runtime.selfCommunicator.connect(to: closed.name.description, deadline: .after(seconds: 10))
        }
        try expectEqual((refused as? TrellisError)?.code, .portClosed, "closed port error")

        // A connect that gives up before any accept is withdrawn; the next accept serves the next client.
        let early = try other.selfCommunicator.iconnect(to: port.name.description)
        _ = try? early.wait(deadline: .after(seconds: 0.3))
        try expect(early.cancel(), "a connect nobody accepted yet can be cancelled")
        let accepting = try me.iaccept(port)
        let connecting = try other.selfCommunicator.iconnect(to: port.name.description)
        let serverSide = try accepting.wait(deadline: .after(seconds: 30))
        let clientSide = try connecting.wait(deadline: .after(seconds: 30))
        try clientSide.send([Int64(42)], to: 0, tag: 1)
        try expectEqual(try serverSide.receive(Int64.self, from: .rank(0), tag: .tag(1), deadline: .after(seconds: 30)).values, [42], "message over the accepted intercommunicator")
        try serverSide.disconnect(deadline: .after(seconds: 10))
        try clientSide.disconnect(deadline: .after(seconds: 10))
        port.close()
        let afterClose = try expectError("accept on a closed port") { try me.accept(port, deadline: .after(seconds: 5)) }
        try expectEqual((afterClose as? TrellisError)?.code, .portClosed, "accept on a closed port error")
        try other.finalize()
        print("ACCEPT CONTROLS OK")
    }

    /// MPI_Comm_join across two processes: `join-listen` writes its TCP port
    /// to TRELLIS_TEST_JOIN_FILE, `join-connect` reads it.
    static func joinListen(_ runtime: Runtime) throws {
        let file = try parameter("TRELLIS_TEST_JOIN_FILE")
        let (listener, port) = try TestSockets.listen()
        defer { close(listener) }
        try TestSockets.writeFile(file, "\(port)")
        let socket = accept(listener, nil, nil)
        try expect(socket >= 0, "accept a TCP connection")
        defer { close(socket) }
        let inter = try runtime.join(socket: socket, deadline: .after(seconds: 30))
        let message = try inter.receive(Int64.self, from: .rank(0), tag: .tag(3), deadline: .after(seconds: 30))
        try inter.send(message.values.map { $0 + 1 }, to: 0, tag: 4)
        let merged = try inter.merge(high: false, deadline: .after(seconds: 30))
        try expectEqual(try merged.allreduce([Int64(1)], .sum, deadline: .after(seconds: 30)), [2], "allreduce after join and merge")
        try inter.disconnect(deadline: .after(seconds: 10))
        print("JOINED")
    }

    static func joinConnect(_ runtime: Runtime) throws {
        let file = try parameter("TRELLIS_TEST_JOIN_FILE")
        guard let port = UInt16(try TestSockets.readFile(file)) else { throw CheckFailure(description: "\(file) holds no port") }
        let socket = try TestSockets.connect(port: port)
        defer { close(socket) }
        let inter = try runtime.join(socket: socket, deadline: .after(seconds: 30))
        try inter.send([Int64(41)], to: 0, tag: 3)
        try expectEqual(try inter.receive(Int64.self, from: .rank(0), tag: .tag(4), deadline: .after(seconds: 30)).values, [42], "answer over the joined intercommunicator")
        let merged = try inter.merge(high: true, deadline: .after(seconds: 30))
        try expectEqual(try merged.allreduce([Int64(1)], .sum, deadline: .after(seconds: 30)), [2], "allreduce after join and merge")
        try inter.disconnect(deadline: .after(seconds: 10))
        print("JOINED")
    }
}

/// Plain TCP sockets for the join scenarios.
enum TestSockets {
    static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = try IPv4Address.parse("127.0.0.1:0")
        try expect(IPv4Address.bind(fd, to: &address) && Glibc.listen(fd, 4) == 0, "listen on a TCP port")
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try expect(IPv4Address.connect(fd, to: try IPv4Address.parse("127.0.0.1:\(port)")) == 0, "connect to TCP port \(port)")
        return fd
    }

    static func writeFile(_ path: String, _ text: String) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try expect(fd >= 0, "create \(temporary)")
        writeAll(fd, Array(text.utf8))
        close(fd)
        try expect(rename(temporary, path) == 0, "rename \(temporary)")
    }

    static func readFile(_ path: String) throws -> String {
        guard let text = waitForFileContents(path, deadline: .after(seconds: 30)) else {
            throw CheckFailure(description: "\(path) did not appear")
        }
        return text
    }
}

extension Scenarios {
    /// Spawns children (one program, then two programs in one job), talks to
    /// them over the intercommunicator, merges, and checks that a spawn of a
    /// missing program fails with a clear error instead of hanging.
    static func spawn(_ runtime: Runtime) throws {
        let world = runtime.world
        let child = ScenarioRunner.invocation + ["spawned-child"]
        let children = try world.spawn(child, count: 3, deadline: .after(seconds: 120))
        try exchangeWithChildren(children, world: world)

        let mixed = try world.spawnMultiple(
            [SpawnRequest(command: child, count: 1), SpawnRequest(command: child, count: 2, environment: ["TRELLIS_TEST_MARK": "b"])],
            deadline: .after(seconds: 120))
        try exchangeWithChildren(mixed, world: world)

        let missing = try expectError("spawn of a missing program") {
            try world.spawn(["/nonexistent/trellis-program"], count: 2, deadline: .after(seconds: 60))
        }
        try expectEqual((missing as? TrellisError)?.code, .launchFailed, "spawn of a missing program")
        try world.barrier(deadline: .after(seconds: 60))
        if world.rank == 0 { print("SPAWNED from \(world.size) ranks") }
    }

    private static func exchangeWithChildren(_ children: Communicator, world: Communicator) throws {
        try expectEqual(children.remoteSize, 3, "children count")
        if world.rank == 0 {
            for child in 0..<children.remoteSize { try children.send([Int64(child * 10)], to: child, tag: 1) }
            for child in 0..<children.remoteSize {
                let reply = try children.receive(Int64.self, from: .rank(child), tag: .tag(2), deadline: .after(seconds: 60))
                try expectEqual(reply.values, [Int64(child * 11)], "reply of child \(child)")
            }
        }
        let merged = try children.merge(high: false, deadline: .after(seconds: 60))
        try expectEqual(merged.size, world.size + 3, "merged size")
        let sum = try merged.allreduce([Int64(1)], .sum, deadline: .after(seconds: 60))
        try expectEqual(sum, [Int64(merged.size)], "allreduce with the children")
        merged.free()
        try children.disconnect(deadline: .after(seconds: 30))
    }

    /// What a spawned child does: answer its parents, merge, disconnect.
    static func spawnedChild(_ runtime: Runtime) throws {
        guard let parent = runtime.parent else { throw CheckFailure(description: "a spawned process has no parent") }
        let world = runtime.world
        print("spawned child \(world.rank) of \(world.size) on \(IPv4Address.thisHostName())")
        let value = try parent.receive(Int64.self, from: .rank(0), tag: .tag(1), deadline: .after(seconds: 60)).values[0]
        try expectEqual(value, Int64(world.rank * 10), "value from the parent")
        try parent.send([value + Int64(world.rank)], to: 0, tag: 2)
        let merged = try parent.merge(high: true, deadline: .after(seconds: 60))
        try expectEqual(merged.rank, parent.remoteSize + world.rank, "children come after their parents")
        _ = try merged.allreduce([Int64(1)], .sum, deadline: .after(seconds: 60))
        merged.free()
        try parent.disconnect(deadline: .after(seconds: 30))
    }
}
