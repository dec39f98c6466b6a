import Glibc
import Dispatch
import Synchronization
import TrellisCore
import TrellisSystem

/// The daemons a command starts and keeps while it runs (a name service,
/// servers, a mount), each logging to its own file: stopped in the reverse
/// order of their start when the command ends (servers unpublish before the
/// name service goes), and watched until SIGINT or SIGTERM asks the command
/// to stop. Each child has a thread parked in `waitpid`, and the signals
/// come through dispatch sources: the command's loop sleeps until one of
/// them has news, with no timer.
final class ChildProcesses {
    struct Child: Sendable {
        let what: String
        let pid: pid_t
        let log: String
    }

    private(set) var children: [Child] = []
    /// Shared with the watcher threads and the signal sources, which must not keep the command's object alive.
    private let mailbox = Mailbox()
    private let signals: [any DispatchSourceSignal]
    /// The process group the children join (0: each leads a group of its own).
    private let processGroup: pid_t

    /// `joinsProcessGroup`: the children join this command's process group,
    /// so that whoever ends the group (a launcher's proxy that lost its
    /// link, and kills what it started) ends them too, even when this
    /// command is killed before it can stop them.
    init(joinsProcessGroup: Bool = false) {
        processGroup = joinsProcessGroup ? getpgrp() : 0
        let mailbox = mailbox
        signals = stopOnSignals { mailbox.post(.stopRequested) }
    }

    @discardableResult
    func start(_ what: String, _ arguments: [String], environment: [String: String], log: String) throws -> pid_t {
        let pid = try ProcessSpawner.spawn(arguments: arguments, environment: environment, logPath: log, processGroup: processGroup)
        children.append(Child(what: what, pid: pid, log: log))
        let mailbox = mailbox
        let watcher = startThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            mailbox.post(.exited(pid, status: status))
        }
        if let watcher { pthread_detach(watcher) }
        return pid
    }

    /// Waits until a signal asks to stop. A child that exits first is
    /// handed to `ended` with its wait status: it returns to go on, or throws to end the command.
    func waitForStop(ended: (Child, Int32) throws -> Void) throws {
        while true {
            switch mailbox.next() {
            case .stopRequested:
                return
            case .exited(let pid, let status):
                guard let child = children.first(where: { $0.pid == pid }) else { continue }
                children.removeAll { $0.pid == pid }
                try ended(child, status)
            }
        }
    }

    /// The last lines of a child's log, for the message that says it ended.
    static func tail(of log: String, lines: Int = 3) -> String {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return "" }
        return text.split(separator: "\n").suffix(lines).joined(separator: " | ")
    }

    /// One at a time, newest first, each reaped by its watcher before the next is asked to stop.
    deinit {
        for signal in signals { signal.cancel() }
        while let newest = children.last {
            kill(newest.pid, SIGTERM)
            while children.contains(where: { $0.pid == newest.pid }) {
                // Exits of others that came meanwhile are taken too: nobody waits for those any more.
                if case .exited(let pid, _) = mailbox.next() { children.removeAll { $0.pid == pid } }
            }
        }
    }
}

private enum Event: Sendable {
    case stopRequested
    case exited(pid_t, status: Int32)
}

/// What the watchers and the signals report, in order, to the one thread that waits.
private final class Mailbox: Sendable {
    private let events = Mutex<[Event]>([])
    private let news = DispatchSemaphore(value: 0)

    func post(_ event: Event) {
        events.withLock { $0.append(event) }
        news.signal()
    }

    func next() -> Event {
        news.wait()
        return events.withLock { $0.removeFirst() }
    }
}
