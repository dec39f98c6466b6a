import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisRuntime

/// One change on its way to the secondaries of a group: done once every
/// line has either delivered it or failed it. A serving loop waits on
/// `completion` beside its clients, so it commits the next requests while
/// this change travels (the pipelined write path); a thread waits with
/// `outcome`.
final class Passage: Sendable {
    private let state: Mutex<(remaining: Int, failure: FSError?)>
    /// Completed once every line has answered for the change.
    let completion: GeneralizedRequest
    /// When every line will have answered, whatever happens (each line's
    /// own deadlines end sooner); a wait past it is a fault of the lines.
    private let latest: Deadline

    /// A change going down `lines` lines (none: done already), each of which
    /// answers within `waitSeconds`.
    init(lines: Int, completion: GeneralizedRequest, waitSeconds: Double) {
        state = Mutex((lines, nil))
        self.completion = completion
        latest = .after(seconds: waitSeconds)
        if lines == 0 { completion.complete() }
    }

    /// One line delivered the change (`failure` nil) or could not.
    func resolve(_ failure: FSError?) {
        let done = state.withLock { state in
            if state.failure == nil { state.failure = failure }
            state.remaining -= 1
            return state.remaining == 0
        }
        if done { completion.complete() }
    }

    /// Whether every line has answered.
    var isComplete: Bool { completion.isComplete }

    /// Waits until every line has answered; the first failure, or nil when every secondary has the change.
    func outcome() -> FSError? {
        do {
            try waitAll([completion], deadline: latest)
        } catch {
            return FSError(.timedOut, "a change was still on its way to the secondaries: \(error)")
        }
        return state.withLock { $0.failure }
    }
}
