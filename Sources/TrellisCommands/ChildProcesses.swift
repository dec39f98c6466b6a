#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import TrellisCore
import TrellisSystem

/// The daemons a command starts and keeps while it runs (a name service,
/// servers, a mount), each logging to its own file: stopped in the reverse
/// order of their start when the command ends (servers unpublish before the
/// name service goes), and watched until SIGINT or SIGTERM asks the command to stop.
final class ChildProcesses {
    struct Child {
        let what: String
        let pid: pid_t
        let log: String
    }

    private(set) var children: [Child] = []
    private let stopRequested = StopFlag()
    private let signals: [any DispatchSourceSignal]

    init() {
        let flag = stopRequested
        signals = stopOnSignals { flag.raise() }
    }

    @discardableResult
    func start(_ what: String, _ arguments: [String], environment: [String: String], log: String) throws -> pid_t {
        let pid = try ProcessSpawner.spawn(arguments: arguments, environment: environment, logPath: log)
        children.append(Child(what: what, pid: pid, log: log))
        return pid
    }

    /// Waits until a signal asks to stop. A child that exits first is
    /// handed to `ended` with its status: it returns to go on, or throws to end the command.
    func waitForStop(ended: (Child, Int32) throws -> Void) throws {
        while !stopRequested.isRaised {
            for child in children {
                var status: Int32 = 0
                if waitpid(child.pid, &status, WNOHANG) == child.pid {
                    children.removeAll { $0.pid == child.pid }
                    try ended(child, status)
                }
            }
            // Waits on two things at once, a signal and a child's exit: a short sleep covers both.
            usleep(200_000)
        }
    }

    /// The last lines of a child's log, for the message that says it ended.
    static func tail(of log: String, lines: Int = 3) -> String {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
    }

    deinit {
        for child in children.reversed() {
            kill(child.pid, SIGTERM)
            _ = ProcessSpawner.waitForExit(child.pid)
        }
        withExtendedLifetime(signals) {}
    }
}

/// Set from a signal handler's queue, read by the command's own loop.
private final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .releasing) }
    var isRaised: Bool { raised.load(ordering: .acquiring) }
}
