import NIOCore
import TrellisCore

/// A port this process opened (MPI_Open_port): clients connect to its name;
/// `accept` on a communicator takes them one at a time.
public final class Port: Sendable, CustomStringConvertible {
    /// The name clients connect to; its `description` is the string to hand out or publish.
    public let name: PortName
    private let engine: ProgressEngine

    init(name: PortName, engine: ProgressEngine) {
        self.name = name
        self.engine = engine
    }

    /// The port's name in printed form.
    public var description: String { name.description }

    /// Closes the port: accepts waiting on it fail with `portClosed`, queued clients are refused.
    public func close() {
        engine.lock.withLock { engine.closePort(name.id) }
    }
}

extension Runtime {
    /// Opens a port that other processes (of any job, or singletons) can connect to.
    public func openPort() -> Port {
        let id = engine.lock.withLock { engine.openPort() }
        return Port(name: PortName(address: address, process: processID, id: id), engine: engine)
    }
}

/// Connect and accept (MPI_Comm_connect / MPI_Comm_accept): collective over
/// the local communicator, with the handshake done by the `root` rank; every
/// member gets the same intercommunicator. Both have nonblocking forms that
/// take deadlines and can be cancelled, so a server needs no thread parked
/// in accept.
///
/// ```swift
/// let port = runtime.openPort()
/// try runtime.publish(name: "echo", port: port.name.description)
/// let pending = try runtime.selfCommunicator.iaccept(port)     // later: pending.test(), or wait(deadline:)
/// ```
extension Communicator {
    /// Accepts one client on `port` (which the root opened). The root's
    /// `port` is the one used; other members may pass any.
    public func iaccept(_ port: Port?, root: Int = 0) throws -> Request<Communicator> {
        try requireIntracommunicator("accept")
        try checkRank(root, role: "root")
        if rank == root && port == nil { throw TrellisError(.invalidArgument, "the accepting root must pass its port") }
        let portID = port?.name.id ?? 0
        return try handshake("accept", root: root) { [self] localMembers, localContext in
            let request = RequestCore(engine: engine, label: .other("accept on port \(portID)"))
            engine.startAccept(portID: portID, waiter: AcceptWaiter(request: request, localMembers: localMembers, localContext: localContext))
            return request
        }
    }

    /// Blocking `iaccept`, as MPI_Comm_accept: returns the intercommunicator to the
    /// client's group, or throws `timedOut` if `deadline` passes first.
    public func accept(_ port: Port?, root: Int = 0, deadline: Deadline? = nil) throws -> Communicator {
        try iaccept(port, root: root).wait(deadline: deadline)
    }

    /// Connects to the port named `portName` (a string from `openPort` or
    /// `lookup`); only the root's `portName` is used.
    public func iconnect(to portName: String, root: Int = 0) throws -> Request<Communicator> {
        try requireIntracommunicator("connect")
        try checkRank(root, role: "root")
        let target = rank == root ? try PortName(parsing: portName) : PortName(address: "", process: engine.processID, id: 0)
        return try handshake("connect", root: root) { [self] localMembers, localContext in
            let request = RequestCore(engine: engine, label: .other("connect to \(target)"))
            engine.startConnect(to: target, localMembers: localMembers, localContext: localContext, request: request)
            return request
        }
    }

    /// Blocking `iconnect`, as MPI_Comm_connect: returns the intercommunicator to the
    /// accepting group, or throws `timedOut` if `deadline` passes first.
    public func connect(to portName: String, root: Int = 0, deadline: Deadline? = nil) throws -> Communicator {
        try iconnect(to: portName, root: root).wait(deadline: deadline)
    }

    /// The root runs `start` (lock held) and broadcasts what it produced;
    /// everyone builds the intercommunicator from that.
    private func handshake(
        _ name: String, root: Int, start: @escaping ([IntercommunicatorPlan.Member], ContextID) -> RequestCore
    ) throws -> Request<Communicator> {
        let schedule: CollectiveSchedule
        if rank == root {
            schedule = CollectiveSchedule()
            var learned = ByteBuffer()
            schedule.step { step in
                step.operations.append((
                    start: { [self] in
                        let side = describeLocalSide()
                        return start(side.members, side.localContext)
                    },
                    deliver: { output in
                        guard case .buffer(let plan) = output else { throw TrellisError(.protocolViolation, "\(name) produced \(output)") }
                        learned = plan
                    }))
            }
            schedule.steps[0].then = { [self] in
                let spread = broadcastSchedule(payload: learned, root: root, rank: rank, size: size, largeBytes: engine.limits.largeCollectiveBytes)
                schedule.steps.append(contentsOf: spread.steps)
                let delivered = spread.result
                schedule.result = { [self] in try makeIntercommunicator(from: try delivered()) }
            }
        } else {
            schedule = broadcastSchedule(payload: nil, root: root, rank: rank, size: size, largeBytes: engine.limits.largeCollectiveBytes)
            let delivered = schedule.result
            schedule.result = { [self] in try makeIntercommunicator(from: try delivered()) }
        }
        return Request(core: try startCollective(name, schedule)) { output in
            guard case .communicator(let made) = output else { preconditionFailure("\(name) produced \(output)") }
            return made
        }
    }

    /// What a root tells the other side: this group's processes and where
    /// they listen, and a fresh context for this side's private communicator. Lock held.
    func describeLocalSide() -> (members: [IntercommunicatorPlan.Member], localContext: ContextID) {
        let members = group.members.map { IntercommunicatorPlan.Member(process: $0, address: engine.transport.address(of: $0) ?? "") }
        return (members, ContextID(owner: engine.processID.rawValue, serial: engine.takeContextSerials(count: 1)))
    }

    /// Builds the intercommunicator from the broadcast plan. Lock held (schedule result).
    func makeIntercommunicator(from output: RequestOutput) throws -> RequestOutput {
        guard case .buffer(let bytes) = output else { throw TrellisError(.protocolViolation, "handshake produced \(output)") }
        let plan = try IntercommunicatorPlan.decode(bytes)
        for member in plan.remote where member.process != engine.processID {
            engine.introduce(member.process, at: member.address)
        }
        let made = Communicator(
            engine: engine, context: plan.context, group: group, rank: rank,
            remoteGroup: Group(members: plan.remote.map(\.process)), localContext: plan.localContext, lockHeld: true)
        return .communicator(made)
    }
}
