import Glibc
import NIOCore
import Synchronization
import TrellisCore
import TrellisWire
import TrellisSystem

/// One program to start with `spawnMultiple`.
public struct SpawnRequest: Sendable {
    /// The executable and its arguments.
    public var command: [String]
    /// How many processes of this program to start; at least 1.
    public var count: Int
    /// Added to the children's environment (for all programs of one spawn).
    public var environment: [String: String]
    /// Where to place this program's processes, as a node set (MPI's `host`
    /// info key); by default the launcher places them on the job's hosts.
    public var hosts: String?

    /// A program to start `count` times, with extra environment variables and an optional placement.
    public init(command: [String], count: Int, environment: [String: String] = [:], hosts: String? = nil) {
        self.command = command
        self.count = count
        self.environment = environment
        self.hosts = hosts
    }
}

/// Dynamic process creation (MPI_Comm_spawn / MPI_Comm_spawn_multiple).
///
/// The root asks the launcher it joined through (PMI's spawn, as MPICH's
/// processes ask Hydra) for a new job, handing it a port of its own as the
/// job's `PARENT_ROOT_PORT_NAME`; `trellis run` starts that job on the
/// job's hosts through its proxies and answers once the children are up.
/// The children's `Runtime.initialize` connects to the port, so each side
/// gets an intercommunicator (the children's is `runtime.parent`). A
/// singleton, which has no launcher, runs `trellis run` itself on this host.
extension Communicator {
    /// Starts `count` processes of `command` as a new job and returns the
    /// intercommunicator to it, as MPI_Comm_spawn. Collective over this
    /// communicator; only the root's arguments count. Blocks until the children
    /// have connected, at most until `deadline` (120 seconds when nil); throws
    /// `launchFailed` when the job cannot be started.
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

    /// The root's part: open a port, have the job started, accept its connection.
    private func launchAndAccept(_ requests: [SpawnRequest], deadline: Deadline) throws -> ByteBuffer {
        guard !requests.isEmpty, requests.allSatisfy({ $0.count >= 1 && !$0.command.isEmpty }) else {
            throw TrellisError(.invalidArgument, "spawn needs at least one program and a count of at least 1 each")
        }
        guard requests.allSatisfy({ $0.program(parentPort: "").isWritable }) else {
            throw TrellisError(.invalidArgument, "a spawn's arguments, environment and hosts cannot hold a newline")
        }
        let portID = engine.lock.withLock { engine.openPort() }
        defer { engine.lock.withLock { engine.closePort(portID) } }
        let portName = PortName(address: engine.transport.localAddress, process: engine.processID, id: portID)
        let described = requests.map { "\($0.count) x \($0.command.joined(separator: " "))" }.joined(separator: " : ")

        let request = RequestCore(engine: engine, label: .other("accept of the spawned job"))
        engine.lock.withLock {
            let side = describeLocalSide()
            engine.startAccept(portID: portID, waiter: AcceptWaiter(request: request, localMembers: side.members, localContext: side.localContext))
        }
        var startedHere: LocalLaunch?
        if let launcher = engine.launcher {
            let refusal: String?
            do {
                refusal = try launcher.spawn(requests.map { $0.program(parentPort: portName.description) }, deadline: deadline)
            } catch {
                _ = engine.cancel(request)
                throw TrellisError(.launchFailed, "the launcher did not start the spawned job (\(described))", underlying: error)
            }
            if let refusal {
                // A launcher without spawn (an older PMI service): start the job here, as a singleton does.
                guard refusal.hasPrefix("unsupported_command") else {
                    _ = engine.cancel(request)
                    let reason = refusal.split(separator: "_", omittingEmptySubsequences: false).joined(separator: " ")
                    throw TrellisError(.launchFailed, "the spawned job (\(described)) did not start: \(reason)")
                }
                startedHere = try LocalLaunch(requests, parentPort: portName.description, accept: request, engine: engine)
            }
        } else {
            startedHere = try LocalLaunch(requests, parentPort: portName.description, accept: request, engine: engine)
        }
        do {
            try engine.wait(for: request, deadline: deadline)
        } catch {
            _ = engine.cancel(request)
            if let startedHere { kill(-startedHere.pid, SIGTERM) }
            throw TrellisError(.timedOut, "the spawned job (\(described)) did not connect before the deadline")
        }
        switch engine.outcome(of: request) {
        case .success(.buffer(let plan)):
            return plan
        case .failure(let error) where error.code == .cancelled:
            let status = startedHere?.exitStatus.withLock { $0 }.map(String.init) ?? "?"
            throw TrellisError(.launchFailed, "the spawned job (\(described)) exited with status \(status) before its processes connected")
        case .failure(let error):
            throw error
        case .success(let other):
            throw TrellisError(.protocolViolation, "spawn accept produced \(other)")
        }
    }
}

extension SpawnRequest {
    /// This request as one program of a PMI spawn: the parents' port as a
    /// preput key, the environment and placement as info hints.
    func program(parentPort: String) -> PMISpawnProgram {
        var info = environment.sorted { $0.key < $1.key }.map { PMIKeyValue("env", "\($0.key)=\($0.value)") }
        if let hosts { info.append(PMIKeyValue("host", hosts)) }
        return PMISpawnProgram(count: count, command: command, preput: [PMIKeyValue("PARENT_ROOT_PORT_NAME", parentPort)], info: info)
    }
}

/// A spawn without a launcher (a singleton's): `trellis run` on this host,
/// reaped by a thread of its own, which withdraws the accept if the job
/// ends before its processes connected.
private final class LocalLaunch: Sendable {
    let pid: pid_t
    let exitStatus = Mutex<Int32?>(nil)

    init(_ requests: [SpawnRequest], parentPort: String, accept request: RequestCore, engine: ProgressEngine) throws {
        var arguments = [try TrellisExecutable.locate(), "run"]
        for (index, request) in requests.enumerated() {
            if index > 0 { arguments.append(":") }
            arguments += ["-n", String(request.count)] + request.command
        }
        if let hosts = requests.lazy.compactMap(\.hosts).first { arguments.insert(contentsOf: ["--hosts", hosts], at: 2) }
        var environment = ProcessEnvironment.current().filter { !$0.key.hasPrefix("PMI_") && $0.key != "TRELLIS_PARENT_PORT" }
        for request in requests { environment.merge(request.environment) { _, new in new } }
        environment["TRELLIS_PARENT_PORT"] = parentPort
        pid = try ProcessSpawner.spawn(
            arguments: arguments, environment: environment,
            descriptors: ChildDescriptors(standardInput: nil, standardOutput: 1, standardError: 2), processGroup: 0)
        let pid = pid
        _ = startThread { [self] in
            let status = ProcessSpawner.waitForExit(pid)
            exitStatus.withLock { $0 = status }
            _ = engine.cancel(request)
        }
    }
}
