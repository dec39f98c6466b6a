#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Synchronization
import TrellisCore

/// One program to start with `spawnMultiple`.
public struct SpawnRequest: Sendable {
    public var command: [String]
    public var count: Int
    /// Added to the children's environment (for all programs of one spawn).
    public var environment: [String: String]

    public init(command: [String], count: Int, environment: [String: String] = [:]) {
        self.command = command
        self.count = count
        self.environment = environment
    }
}

/// Dynamic process creation (MPI_Comm_spawn / MPI_Comm_spawn_multiple).
///
/// The root starts the children as one new job through a launch agent,
/// today `trellis run` on this host, handing them a port of its own in
/// `TRELLIS_PARENT_PORT`; the children's `Runtime.initialize` connects to
/// it, so each side gets an intercommunicator (the children's is
/// `runtime.parent`). A node agent on another host would take the same
/// command line and environment; nothing else in the protocol is local.
extension Communicator {
    public func spawn(
        _ command: [String], count: Int, root: Int = 0, environment: [String: String] = [:], deadline: Deadline? = nil
    ) throws -> Communicator {
        try spawnMultiple([SpawnRequest(command: command, count: count, environment: environment)], root: root, deadline: deadline)
    }

    /// Starts every request's program in one job (the children share one
    /// world, ranks in request order) and returns the intercommunicator to it.
    /// Collective over this communicator; only the root's requests count.
    public func spawnMultiple(_ requests: [SpawnRequest], root: Int = 0, deadline: Deadline? = nil) throws -> Communicator {
        try requireIntracommunicator("spawn")
        try checkRank(root, role: "root")
        let deadline = deadline ?? .after(seconds: 120)
        var outcome: ByteBuffer?
        if rank == root {
            var answer = ByteBuffer()
            do {
                let plan = try launchAndAccept(requests, deadline: deadline)
                answer.writeInteger(UInt8(1))
                answer.writeImmutableBuffer(plan)
            } catch {
                answer.writeInteger(UInt8(0))
                answer.writeString("\(error)")
            }
            outcome = answer
        }
        var shared = try broadcast(outcome, root: root, deadline: deadline)
        guard let ok = shared.readInteger(as: UInt8.self) else { throw TrellisError(.protocolViolation, "empty spawn outcome") }
        guard ok == 1 else {
            throw TrellisError(.launchFailed, "spawn failed at rank \(root): \(shared.readString(length: shared.readableBytes) ?? "")")
        }
        let output = try engine.lock.withLock { try makeIntercommunicator(from: .buffer(shared)) }
        guard case .communicator(let children) = output else { throw TrellisError(.protocolViolation, "spawn made no communicator") }
        return children
    }

    /// The root's part: open a port, start the job, accept its connection.
    private func launchAndAccept(_ requests: [SpawnRequest], deadline: Deadline) throws -> ByteBuffer {
        guard !requests.isEmpty, requests.allSatisfy({ $0.count >= 1 && !$0.command.isEmpty }) else {
            throw TrellisError(.invalidArgument, "spawn needs at least one program and a count of at least 1 each")
        }
        let portID = engine.lock.withLock { engine.openPort() }
        defer { engine.lock.withLock { engine.closePort(portID) } }
        let portName = PortName(address: engine.transport.localAddress, process: engine.processID, id: portID)

        var arguments = [try TrellisExecutable.locate(), "run"]
        for (index, request) in requests.enumerated() {
            if index > 0 { arguments.append(":") }
            arguments += ["-n", String(request.count)] + request.command
        }
        var environment = ProcessEnvironment.current().filter { !$0.key.hasPrefix("PMI_") && $0.key != "TRELLIS_PARENT_PORT" }
        for request in requests { environment.merge(request.environment) { _, new in new } }
        environment["TRELLIS_PARENT_PORT"] = portName.description

        let request = RequestCore(engine: engine, label: .other("accept of the spawned job"))
        engine.lock.withLock {
            let side = describeLocalSide()
            engine.startAccept(portID: portID, waiter: AcceptWaiter(request: request, localMembers: side.members, localContext: side.localContext))
        }
        let pid = try ProcessSpawner.spawn(
            arguments: arguments, environment: environment,
            descriptors: ChildDescriptors(standardInput: nil, standardOutput: 1, standardError: 2), processGroup: 0)
        // The launcher is reaped by a thread of its own; if it ends before
        // its processes connected, the accept is withdrawn and spawn fails.
        let exitStatus = Mutex<Int32?>(nil)
        let progress = engine
        _ = startThread {
            let status = ProcessSpawner.waitForExit(pid)
            exitStatus.withLock { $0 = status }
            _ = progress.cancel(request)
        }
        do {
            try engine.wait(for: request, deadline: deadline)
        } catch {
            _ = engine.cancel(request)
            kill(-pid, SIGTERM)
            throw TrellisError(.timedOut, "the spawned job (\(arguments.dropFirst(2).joined(separator: " "))) did not connect before the deadline")
        }
        switch engine.outcome(of: request) {
        case .success(.buffer(let plan)):
            return plan
        case .failure(let error) where error.code == .cancelled:
            let status = exitStatus.withLock { $0 }.map(String.init) ?? "?"
            throw TrellisError(.launchFailed, "the spawned job (\(arguments.dropFirst(2).joined(separator: " "))) exited with status \(status) before its processes connected")
        case .failure(let error):
            throw error
        case .success(let other):
            throw TrellisError(.protocolViolation, "spawn accept produced \(other)")
        }
    }
}
