#if canImport(Glibc)
import Glibc
#endif
import Logging
import TrellisCore
import TrellisWire

/// `trellis run`: starts the ranks of one job on this host, serves their
/// PMI-1 bootstrap, relays their output and signals, and ends the job as a
/// whole when one rank fails, leaving no process behind.
public final class JobLauncher {
    private let options: LaunchOptions
    private let logger: Logger
    private var ranks: [RankProcess] = []
    private var relays: [OutputRelay] = []
    private var pmi: PMIServerState
    private var processGroup: pid_t = 0
    private var firstFailure: (rank: Int, code: Int32)?
    private var stopDeadline: Deadline?
    private var killed = false
    private var interruptCount = 0
    private var drainDeadline: Deadline?
    /// The signal sent to stop the job, so deaths by it are not reported as failures.
    private var stopSignal: Int32 = 0

    public init(options: LaunchOptions, logger: Logger = Logger(label: "trellis.run")) {
        self.options = options
        self.logger = logger
        pmi = PMIServerState(
            size: options.rankCount, kvsName: "trellis-\(getpid())-\(UInt32.random(in: 0...UInt32.max))",
            applicationNumbers: (0..<options.rankCount).map(options.applicationNumber(ofRank:)))
    }

    /// Runs the job to its end; returns the exit code for the shell.
    public func run() throws -> Int32 {
        guard options.applications.allSatisfy({ $0.count >= 1 }) else { throw TrellisError(.invalidArgument, "-n must be at least 1") }
        guard options.applications.allSatisfy({ !$0.program.isEmpty }) else { throw TrellisError(.invalidArgument, "no program to run") }
        let relay = try SignalRelay(signals: [SIGINT, SIGTERM, SIGHUP, SIGCHLD])
        signal(SIGPIPE, SIG_IGN)
        do {
            for rank in 0..<options.rankCount { try start(rank: rank) }
        } catch {
            message("trellis run: \(error)")
            firstFailure = firstFailure ?? (-1, 1)
            beginStop(signal: SIGTERM)
        }
        while ranks.contains(where: { !$0.hasExited }) || relays.contains(where: \.isOpen) {
            pollOnce(relay: relay)
            reapChildren()
            if let deadline = stopDeadline, deadline.hasPassed, !killed {
                message("trellis run: ranks still running after \(options.graceSeconds)s; killing them")
                killGroup(SIGKILL)
                killed = true
            }
            if !ranks.contains(where: { !$0.hasExited }) {
                if drainDeadline == nil {
                    // Descendants the ranks left behind in their group go too;
                    // then the pipes drain to their end.
                    killGroup(SIGKILL)
                    drainDeadline = .after(seconds: 2)
                } else if drainDeadline!.hasPassed {
                    relays.forEach { $0.finish() }
                }
            }
        }
        for rank in ranks where rank.pmiOpen { close(rank.pmiFD) }
        return firstFailure?.code ?? 0
    }

    // MARK: Starting

    private func start(rank: Int) throws {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw TrellisError(.launchFailed, "socketpair for rank \(rank)", underlying: SystemCallError("socketpair", errno: errno))
        }
        let output = try makePipe()
        let errors = try makePipe()
        var environment = ProcessEnvironment.current()
        for (key, value) in options.environment { environment[key] = value }
        environment["PMI_FD"] = "3"
        environment["PMI_RANK"] = String(rank)
        environment["PMI_SIZE"] = String(options.rankCount)
        environment["TRELLIS_RANK"] = String(rank)
        environment["TRELLIS_SIZE"] = String(options.rankCount)
        environment["TRELLIS_LAUNCHER_PID"] = String(getpid())
        let childPMI = fcntl(pair[1], F_DUPFD_CLOEXEC, 10)
        defer {
            close(pair[1])
            close(childPMI)
            close(output.write)
            close(errors.write)
        }
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(
                arguments: options.rankWrapper + options.applications[options.applicationNumber(ofRank: rank)].program,
                environment: environment,
                descriptors: ChildDescriptors(
                    standardInput: rank == 0 ? 0 : nil, standardOutput: output.write, standardError: errors.write,
                    inherited: [(childPMI, 3)]),
                processGroup: processGroup)
        } catch {
            close(pair[0])
            close(output.read)
            close(errors.read)
            throw error
        }
        if processGroup == 0 { processGroup = pid }
        ranks.append(RankProcess(rank: rank, pid: pid, pmiFD: pair[0]))
        relays.append(OutputRelay(fd: output.read, rank: rank, destination: 1, tagged: options.tagOutput))
        relays.append(OutputRelay(fd: errors.read, rank: rank, destination: 2, tagged: options.tagOutput))
    }

    private func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw TrellisError(.launchFailed, "cannot create an output pipe", underlying: SystemCallError("pipe", errno: errno))
        }
        // Above the standard descriptors, so dup2 in the child never hits its own source.
        let read = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
        let write = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
        close(fds[0])
        close(fds[1])
        return (read, write)
    }

    // MARK: The loop

    private func pollOnce(relay: SignalRelay) {
        var watched: [pollfd] = [pollfd(fd: relay.readFD, events: Int16(POLLIN), revents: 0)]
        for rank in ranks where rank.pmiOpen { watched.append(pollfd(fd: rank.pmiFD, events: Int16(POLLIN), revents: 0)) }
        for output in relays where output.isOpen { watched.append(pollfd(fd: output.fd, events: Int16(POLLIN), revents: 0)) }
        var timeout: Int32 = 200
        if let deadline = stopDeadline, !killed {
            timeout = Int32(min(200, deadline.remainingNanoseconds / 1_000_000 + 1))
        }
        let count = poll(&watched, nfds_t(watched.count), timeout)
        guard count > 0 else { return }
        for entry in watched where entry.revents != 0 {
            if entry.fd == relay.readFD {
                for signal in relay.drain() where signal != SIGCHLD { forward(signal) }
            } else if let rank = ranks.first(where: { $0.pmiOpen && $0.pmiFD == entry.fd }) {
                serviceBootstrap(rank)
            } else if let output = relays.first(where: { $0.isOpen && $0.fd == entry.fd }) {
                output.pump()
            }
        }
    }

    private func forward(_ signal: Int32) {
        interruptCount += 1
        if interruptCount > 1 {
            message("trellis run: \(signalName(signal)) again; killing the job")
            killGroup(SIGKILL)
            killed = true
            return
        }
        firstFailure = firstFailure ?? (-1, 128 + signal)
        beginStop(signal: signal)
    }

    private func serviceBootstrap(_ rank: RankProcess) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { read(rank.pmiFD, $0.baseAddress!, $0.count) }
        if count < 0 && errno == EINTR { return }
        guard count > 0 else {
            close(rank.pmiFD)
            rank.pmiOpen = false
            return
        }
        rank.pmiInput.append(chunk[..<count])
        while true {
            let message: (command: PMICommand, wire: PMIWire)?
            do {
                message = try rank.pmiInput.next()
            } catch {
                logger.warning("rank \(rank.rank) sent malformed PMI: \(error)")
                if rank.pmiInput.isBroken {
                    // Nothing after it can be read: the rank's next PMI call fails instead of waiting.
                    close(rank.pmiFD)
                    rank.pmiOpen = false
                    return
                }
                continue
            }
            guard let (command, wire) = message else { return }
            rank.pmiWire = wire
            if command.name == "init" || command.name == "fullinit" { rank.sentInit = true }
            for event in pmi.handle(command, from: rank.rank, wire: wire) { perform(event) }
        }
    }

    private func perform(_ event: PMIServerState.Event) {
        switch event {
        case .reply(let target, let command):
            let process = ranks[target]
            guard process.pmiOpen else { return }
            writeAll(process.pmiFD, command.encoded(as: process.pmiWire))
        case .abort(let rank, let code, let text):
            message("trellis run: rank \(rank) aborted the job (code \(code))\(text.isEmpty ? "" : ": \(text)")")
            firstFailure = firstFailure ?? (rank, Int32(truncatingIfNeeded: code == 0 ? 1 : code))
            beginStop(signal: SIGTERM)
        }
    }

    // MARK: Ending

    private func reapChildren() {
        var ended: [RankProcess] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { break }
            guard let rank = ranks.first(where: { $0.pid == pid }) else { continue }
            rank.exitStatus = status
            ended.append(rank)
        }
        if stopDeadline != nil {
            // Once stopping, report only deaths this launcher did not cause:
            // a killed rank's peers can notice and exit before the kernel
            // reports the killed rank itself.
            for rank in ended {
                let signal = rank.exitStatus! & 0x7f
                if signal != 0 && signal != stopSignal && !(signal == SIGKILL && killed) {
                    message("trellis run: rank \(rank.rank) (pid \(rank.pid)) \(RankProcess.describe(status: rank.exitStatus!))")
                }
            }
            return
        }
        // Ranks that lose a peer fail soon after it; a rank killed by a signal
        // is the likelier cause, so it is named first.
        let failed = ended.filter { rank in
            let status = rank.exitStatus!
            return status != 0 || (rank.sentInit && !pmi.finalized.contains(rank.rank))
        }.sorted { ($0.exitStatus! & 0x7f != 0 ? 0 : 1, $0.rank) < ($1.exitStatus! & 0x7f != 0 ? 0 : 1, $1.rank) }
        guard let first = failed.first else { return }
        let consequence = options.keepGoing ? "; the other ranks go on (--keep-going)" : "; stopping the other ranks"
        for rank in failed {
            let status = rank.exitStatus!
            let how = status == 0 ? "exited without finalizing" : RankProcess.describe(status: status)
            message("trellis run: rank \(rank.rank) (pid \(rank.pid)) \(how)\(rank === first ? consequence : "")")
        }
        let status = first.exitStatus!
        if options.keepGoing {
            firstFailure = firstFailure ?? (first.rank, status == 0 ? 1 : RankProcess.shellCode(status: status))
            return
        }
        firstFailure = (first.rank, status == 0 ? 1 : RankProcess.shellCode(status: status))
        beginStop(signal: SIGTERM)
    }

    private func beginStop(signal: Int32) {
        guard stopDeadline == nil else { return }
        stopSignal = signal
        stopDeadline = .after(seconds: options.graceSeconds)
        killGroup(signal)
    }

    private func killGroup(_ signal: Int32) {
        guard processGroup > 0 else { return }
        killpg(processGroup, signal)
    }

    private func message(_ text: String) {
        writeToStandardError(text + "\n")
    }
}
