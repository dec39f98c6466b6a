import DequeModule
import Foundation
import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisRuntime
import TrellisSystem

/// A change a secondary is owed: how to send it, and what the secondary
/// lacks without it.
struct Owed: Sendable {
    /// Sends the change on a line.
    let start: @Sendable (ServerConnection, Deadline) -> OwedFlight
    let missed: MissedChange
    /// The operation's name, for errors.
    let name: String

    init<Operation: SentByPrimary>(_ operation: Operation) {
        start = { line, deadline in
            let flight = line.start(operation, credentials: Replicator.credentials, deadline: deadline)
            return OwedFlight(
                arrival: flight.replyArrival,
                finish: { deadline in _ = try line.finish(flight, deadline: deadline) },
                abandon: { line.abandon(flight) })
        }
        missed = operation.missed
        name = Operation.name
    }
}

/// A change sent on a line, until its answer is taken.
struct OwedFlight {
    /// Completes when the answer comes; nil when the change could not be sent.
    let arrival: Request<Message>?
    /// Takes the answer (waiting for it), or throws the failure.
    let finish: (Deadline) throws -> Void
    /// Gives the answer up.
    let abandon: () -> Void
}

/// A primary's line to one secondary of its group. A thread of its own
/// sends the changes in the order they were given, up to `window` at once
/// without waiting for each answer (a change given while it waits goes at
/// once), and resolves each change's `Passage` as the answers come back in
/// order. No change goes out after one that could not: the copy applies
/// them in the order they arrive. A change that fails stays owed with
/// every change after it: the line sends them all again, in order, at most
/// once a second, and until it does, a new change is failed at once instead
/// of waited on (applying a change twice leaves the same rows and bytes).
/// Everything the thread and its callers share is under one lock
/// (`condition`); the connection is the thread's alone.
final class SecondaryLine: @unchecked Sendable {
    /// The server whose copy it sends to.
    let server: Int
    private let group: Int
    private let connection: ServerConnection
    private let timeoutSeconds: Double
    /// Makes the request a change given while the thread waits completes.
    private let startWake: @Sendable () -> GeneralizedRequest
    private let condition = NSCondition()

    private struct Entry {
        let sequence: UInt64
        let owed: Owed
        let passage: Passage
        /// Whether its passage has heard from this line.
        var resolved: Bool
    }

    // Under `condition`:
    /// Changes not yet answered, in order.
    private var queue = Deque<Entry>()
    private var nextSequence: UInt64 = 0
    /// The first change of `queue` not yet sent on the current connection.
    private var nextToSend: UInt64 = 0
    /// Since a change failed, until one goes through.
    private var failing = false
    private var lastTry: UInt64 = 0
    private var lastFailure = ""
    /// It fell so far behind that the queue no longer holds all it lacks.
    private var overflowed = false
    /// The secondary has answered a change on this line: its server started.
    private var answered = false
    private var retired = false
    /// Completed by the next change given, while the thread waits for an answer.
    private var wake: GeneralizedRequest?

    /// Changes sent before the first answer is waited for.
    static let window = 64

    /// A line to `server`'s copy of `group` over `connection`, its thread
    /// started; `startWake` makes the requests its thread waits on beside an answer.
    init(server: Int, group: Int, connection: ServerConnection, timeoutSeconds: Double, startWake: @escaping @Sendable () -> GeneralizedRequest) {
        self.server = server
        self.group = group
        self.connection = connection
        self.timeoutSeconds = timeoutSeconds
        self.startWake = startWake
        if let thread = startThread(named: "line g\(group) s\(server)", { [self] in run() }) { pthread_detach(thread) }
    }

    /// Queues `owed`; `passage` hears from this line when the secondary has
    /// it, or at once when the line is failing.
    func send(_ owed: Owed, _ passage: Passage) {
        condition.lock()
        defer { condition.unlock() }
        if retired {
            passage.resolve(nil)
            return
        }
        if !overflowed, failing, queue.count >= Replicator.backlogLimit {
            overflowed = true
            queue.removeAll()
        }
        if overflowed {
            passage.resolve(failure(owed.name, "it owes \(Replicator.backlogLimit) changes already"))
            return
        }
        queue.append(Entry(sequence: nextSequence, owed: owed, passage: passage, resolved: failing))
        nextSequence += 1
        if failing {
            passage.resolve(failure(owed.name, "it did not answer a moment ago (\(lastFailure))"))
        }
        condition.broadcast()
        wake?.complete()
        wake = nil
    }

    /// Returns once the secondary has every change given before the call;
    /// throws at once when the line is failing or overflowed, and when `deadline` passes.
    func catchUp(deadline: Deadline) throws {
        condition.lock()
        defer { condition.unlock() }
        guard let target = queue.last?.sequence else {
            if overflowed { throw behind("it fell too far behind to catch up") }
            return
        }
        while let first = queue.first, first.sequence <= target {
            if overflowed { throw behind("it fell too far behind to catch up") }
            if failing { throw behind("it owes \(queue.count) changes and did not answer a moment ago (\(lastFailure))") }
            if deadline.hasPassed { throw behind("it still owes \(queue.count) changes") }
            _ = condition.wait(until: Date(timeIntervalSinceNow: min(0.1, max(0.001, Double(deadline.remainingNanoseconds) / 1e9))))
        }
        if overflowed { throw behind("it fell too far behind to catch up") }
    }

    /// Whether the secondary has answered a change on this line.
    var hasAnswered: Bool {
        condition.lock()
        defer { condition.unlock() }
        return answered
    }

    /// The line's state for `trellis fs replicas`: good, or behind by what it owes.
    var state: MemberState {
        condition.lock()
        defer { condition.unlock() }
        let good = !failing && !overflowed
        return MemberState(server: UInt32(server), state: good ? .good : .behind, owed: UInt64(good ? 0 : queue.count))
    }

    /// Ends the line (its group went on without the copy, or the primary
    /// stopped being one): every change not yet answered is resolved with
    /// `resolution` and given back, what the copy may lack, in order; nil
    /// when the line fell too far behind to know.
    func retire(resolution: FSError?) -> [MissedChange]? {
        condition.lock()
        defer { condition.unlock() }
        retired = true
        for index in queue.indices where !queue[index].resolved {
            queue[index].resolved = true
            queue[index].passage.resolve(resolution)
        }
        let owed = overflowed ? nil : queue.map(\.owed.missed)
        queue.removeAll()
        condition.broadcast()
        wake?.complete()
        wake = nil
        return owed
    }

    private func failure(_ name: String, _ reason: String) -> FSError {
        FSError(.serverUnavailable, "group \(group)'s copy on server \(server) did not take \(name): \(reason)")
    }

    private func behind(_ reason: String) -> FSError {
        FSError(.serverUnavailable, "group \(group)'s copy on server \(server) is behind: \(reason)")
    }

    // MARK: The line's thread

    private func run() {
        var flights = Deque<(sequence: UInt64, flight: OwedFlight, deadline: Deadline)>()
        while let batch = nextBatch(inFlight: flights.count) {
            do {
                for entry in batch {
                    let deadline = Deadline.after(seconds: timeoutSeconds)
                    let flight = entry.owed.start(connection, deadline)
                    flights.append((entry.sequence, flight, deadline))
                    // The next change must not pass it: it fails the line, and everything owed goes again, in order.
                    guard flight.arrival != nil else { throw FSError(.serverUnavailable, "\(entry.owed.name) could not be sent") }
                }
                guard let oldest = flights.first, answerCame(to: oldest.flight, before: oldest.deadline, inFlight: flights.count) else { continue }
                try oldest.flight.finish(oldest.deadline)
                flights.removeFirst()
                delivered(through: oldest.sequence)
            } catch {
                for owed in flights { owed.flight.abandon() }
                flights.removeAll()
                // Whatever was sent after it goes again, in order, on a new connection.
                connection.drop()
                failed(error)
            }
        }
        connection.drop()
    }

    /// Waits for the answer to `flight` or for a change to send, whichever
    /// comes first; whether the answer came (or the deadline passed, which
    /// `finish` reports).
    private func answerCame(to flight: OwedFlight, before deadline: Deadline, inFlight: Int) -> Bool {
        guard let arrival = flight.arrival else { return true }
        let wake: GeneralizedRequest? = condition.withLock {
            if retired || hasChangesToSend(inFlight: inFlight) { return nil }
            self.wake = startWake()
            return self.wake
        }
        guard let wake else { return arrival.isComplete }
        defer { condition.withLock { self.wake = nil } }
        do {
            _ = try waitAny([arrival, wake], deadline: deadline)
        } catch {
            // The deadline passed: `finish` says so.
            return true
        }
        return arrival.isComplete
    }

    /// Waits for something to do; the changes to send now (perhaps none,
    /// when answers are awaited), or nil once the line is retired.
    private func nextBatch(inFlight: Int) -> [Entry]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if retired { return nil }
            if failing, inFlight == 0, !queue.isEmpty, MonotonicClock.nanoseconds() &- lastTry >= 1_000_000_000 {
                // A try again, from the first change owed.
                lastTry = MonotonicClock.nanoseconds()
                let batch = Array(queue.prefix(Self.window))
                nextToSend = batch.last!.sequence + 1
                return batch
            }
            if hasChangesToSend(inFlight: inFlight), let first = queue.first {
                let start = Int(nextToSend &- first.sequence)
                let batch = Array(queue[start ..< min(queue.count, start + Self.window - inFlight)])
                nextToSend = batch.last!.sequence + 1
                return batch
            }
            if inFlight > 0 { return [] }
            _ = condition.wait(until: Date(timeIntervalSinceNow: failing ? 0.1 : 1))
        }
    }

    /// Whether changes given are not sent yet, and the line may send them now. Lock held.
    private func hasChangesToSend(inFlight: Int) -> Bool {
        guard !failing, inFlight < Self.window, let first = queue.first else { return false }
        return Int(nextToSend &- first.sequence) < queue.count
    }

    private func delivered(through sequence: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        failing = false
        answered = true
        while let first = queue.first, first.sequence <= sequence {
            if !first.resolved { first.passage.resolve(nil) }
            queue.removeFirst()
        }
        condition.broadcast()
    }

    private func failed(_ error: any Error) {
        condition.lock()
        defer { condition.unlock() }
        let reason = (error as? FSError)?.message ?? "\(error)"
        failing = true
        lastTry = MonotonicClock.nanoseconds()
        lastFailure = reason
        if let first = queue.first { nextToSend = first.sequence }
        for index in queue.indices where !queue[index].resolved {
            queue[index].resolved = true
            queue[index].passage.resolve(failure(queue[index].owed.name, reason))
        }
        condition.broadcast()
    }
}
