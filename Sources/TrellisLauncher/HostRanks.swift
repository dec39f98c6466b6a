import Glibc
import CTrellisSystem
import TrellisCore
import TrellisWire
import TrellisSystem

/// The ranks of a job on this host, one process group: started with their
/// PMI descriptor (`PMI_FD`) and output pipes, signalled together, and
/// reaped. The node that owns them serves their PMI and carries their output.
final class HostRanks {
    /// Where rank 0's stdin comes from when it runs here.
    enum Input {
        /// This process's own stdin (a job on one host).
        case inherited
        /// A pipe this node writes what the launcher forwards into.
        case forwarded
    }

    private(set) var processes: [RankProcess] = []
    private(set) var relays: [OutputRelay] = []
    private(set) var processGroup: pid_t = 0
    /// The write end of rank 0's stdin pipe, while open.
    private(set) var inputFD: Int32 = -1
    private var pendingInput: [UInt8] = []
    private var inputEnded = false

    init() {}

    var isEmpty: Bool { processes.isEmpty }
    var allExited: Bool { processes.allSatisfy(\.hasExited) }
    var outputOpen: Bool { relays.contains(where: \.isOpen) }

    /// Starts one rank. `environment` is the whole environment of its
    /// program. With `pmiPort` ("host:port") the rank connects there for its
    /// PMI (`PMI_PORT`, `PMI_ID`); without, it inherits a descriptor (`PMI_FD`).
    func start(
        rank: Int, program: [String], environment: [String: String], input: Input?, pmiPort: String? = nil, partialLineDelay: Double,
        deliver: @escaping (Int, Int, [UInt8]) -> Void
    ) throws {
        var pair: [Int32] = [-1, -1]
        if pmiPort == nil {
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                throw TrellisError(.launchFailed, "socketpair for rank \(rank)", underlying: SystemCallError("socketpair", errno: errno))
            }
        }
        let output = try Self.makePipe()
        let errors = try Self.makePipe()
        var stdinPipe: (read: Int32, write: Int32)?
        if input == .forwarded { stdinPipe = try Self.makePipe() }
        var environment = environment
        if let pmiPort {
            environment["PMI_PORT"] = pmiPort
            environment["PMI_ID"] = String(rank)
        } else {
            environment["PMI_FD"] = "3"
        }
        let childPMI = pair[1] >= 0 ? fcntl(pair[1], F_DUPFD_CLOEXEC, 10) : -1
        defer {
            if pair[1] >= 0 {
                close(pair[1])
                close(childPMI)
            }
            close(output.write)
            close(errors.write)
            if let stdinPipe { close(stdinPipe.read) }
        }
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(
                arguments: program, environment: environment,
                descriptors: ChildDescriptors(
                    standardInput: input == .inherited ? 0 : stdinPipe?.read, standardOutput: output.write, standardError: errors.write,
                    inherited: childPMI >= 0 ? [(childPMI, Int32(3))] : []),
                processGroup: processGroup, diesWithParent: true)
        } catch {
            if pair[0] >= 0 { close(pair[0]) }
            close(output.read)
            close(errors.read)
            if let stdinPipe { close(stdinPipe.write) }
            throw error
        }
        if processGroup == 0 { processGroup = pid }
        if pair[0] >= 0 { _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK) }
        if let stdinPipe {
            inputFD = stdinPipe.write
            _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK)
            flushInput()
        }
        processes.append(RankProcess(rank: rank, pid: pid, pmiFD: pair[0]))
        relays.append(OutputRelay(fd: output.read, rank: rank, stream: 1, partialLineDelay: partialLineDelay, deliver: deliver))
        relays.append(OutputRelay(fd: errors.read, rank: rank, stream: 2, partialLineDelay: partialLineDelay, deliver: deliver))
    }

    /// A pipe closed on exec from its creation: threads spawn children at
    /// any moment (the cluster tools start a host's ssh per thread), and a
    /// child that inherited another's pipe end, a daemon above all, would
    /// keep that pipe from ever reaching its end.
    static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard trellis_pipe_cloexec(&fds) == 0 else {
            throw TrellisError(.launchFailed, "cannot create a pipe", underlying: SystemCallError("pipe", errno: errno))
        }
        // Above the standard descriptors, so dup2 in the child never hits its own source.
        let read = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
        let write = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
        close(fds[0])
        close(fds[1])
        return (read, write)
    }

    // MARK: Input for rank 0

    func forwardInput(_ bytes: [UInt8]) {
        pendingInput += bytes
        flushInput()
    }

    func endInput() {
        inputEnded = true
        flushInput()
    }

    /// Writes what rank 0's pipe takes now; closes it after the end once empty.
    func flushInput() {
        guard inputFD >= 0 else { return }
        while !pendingInput.isEmpty {
            let written = pendingInput.withUnsafeBytes { write(inputFD, $0.baseAddress!, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                // Rank 0 closed its stdin or ended: what it did not read is dropped.
                pendingInput.removeAll()
                break
            }
            pendingInput.removeFirst(written)
        }
        if inputEnded && pendingInput.isEmpty {
            close(inputFD)
            inputFD = -1
        }
    }

    var wantsToWriteInput: Bool { inputFD >= 0 && !pendingInput.isEmpty }

    // MARK: Events

    /// The process `pid` ended (nil: it is none of these ranks).
    func ended(pid: pid_t, status: Int32) -> RankProcess? {
        guard let process = processes.first(where: { $0.pid == pid }) else { return nil }
        process.exitStatus = status
        return process
    }

    /// A rank started with `PMI_PORT` connected and said who it is: the
    /// connection becomes its PMI descriptor, answered as MPICH's simple PMI
    /// expects (initack, then its size, rank and debug flag). False if no
    /// rank here waits for a connection under that id.
    func attach(_ fd: Int32, id: Int, size: Int) -> Bool {
        guard let process = processes.first(where: { $0.rank == id }), process.pmiFD < 0, !process.hasExited else { return false }
        process.pmiFD = fd
        process.pmiOpen = true
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        for command in [PMICommand("initack"), PMICommand("set", [("size", String(size))]), PMICommand("set", [("rank", String(id))]), PMICommand("set", [("debug", "0")])] {
            writeAll(fd, command.encoded(as: .v1))
        }
        return true
    }

    func reply(to rank: Int, _ command: PMICommand) {
        guard let process = processes.first(where: { $0.rank == rank }), process.pmiOpen else { return }
        writeAll(process.pmiFD, command.encoded(as: process.pmiWire))
    }

    func signal(_ number: Int32) {
        guard processGroup > 0 else { return }
        killpg(processGroup, number)
    }

    func tick() { relays.forEach { $0.tick() } }

    func finishOutput() { relays.forEach { $0.finish() } }

    func closeAll() {
        for process in processes where process.pmiOpen {
            close(process.pmiFD)
            process.pmiOpen = false
        }
        if inputFD >= 0 {
            close(inputFD)
            inputFD = -1
        }
    }
}
