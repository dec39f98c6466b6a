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
                succeeded: { line.succeeded(flight) },
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
    /// Whether the answer has come and says the copy took the change (never waits).
    let succeeded: () -> Bool
    /// Takes the answer (waiting for it, retrying as the connection does), or throws the failure.
    let finish: (Deadline) throws -> Void
    /// Gives the answer up.
    let abandon: () -> Void
}

/// A primary's line to one secondary of its group. Changes go in the order
/// given, up to `window` at once without waiting for each answer, and each
/// change's `Passage` is resolved as the answers come back in order. No
/// change goes out after one that could not: the copy applies them in the
/// order they arrive. A change that fails stays owed with every change
/// after it: the line sends them all again, in order, at most once a
/// second, and until it does, a new change is failed at once instead of
/// waited on (applying a change twice leaves the same rows and bytes).
///
/// On the fast path no thread of the line's own takes part: the thread that
/// gives a change (a serving loop, after its commit) sends it, and the
/// serving loop takes the answers as it asks for each line's
/// `oldestArrival`, which it waits on beside its clients; each hand-off to another
/// thread and back cost a server two wake-ups per change. The line's thread
/// takes what no one else does: answers to changes sent while no loop waits
/// on the line (from a request on a thread of its own), every failure and
/// deadline (with the connection's retries, which may wait), and the
/// sending again. Everything is under one lock (`condition`),
/// the connection included, except while the thread alone holds it
/// (`threadHoldsConnection`) for a wait that may block.
final class SecondaryLine: @unchecked Sendable {
    /// The server whose copy it sends to.
    let server: Int
    private let group: Int
    private let connection: ServerConnection
    private let timeoutSeconds: Double
    private let condition = NSCondition()

    private struct Entry {
        let sequence: UInt64
        let owed: Owed
        let passage: Passage
        /// Whether its passage has heard from this line.
        var resolved: Bool
    }

    private struct Flight {
        let sequence: UInt64
        let flight: OwedFlight
        let deadline: Deadline
    }

    // Under `condition`:
    /// Changes not yet answered, in order.
    private var queue = Deque<Entry>()
    private var nextSequence: UInt64 = 0
    /// The first change of `queue` not yet sent on the current connection.
    private var nextToSend: UInt64 = 0
    /// Changes sent on the current connection and not yet answered, oldest first.
    private var flights = Deque<Flight>()
    /// While the line's thread uses the connection outside the lock: no one else sends or takes answers.
    private var threadHoldsConnection = false
    /// The flight whose answer a serving loop waits on (`oldestArrival`), so the line's thread need not look.
    private var attended: UInt64?
    /// Since a change failed, until one goes through.
    private var failing = false
    private var lastTry: UInt64 = 0
    private var lastFailure = ""
    /// It fell so far behind that the queue no longer holds all it lacks.
    private var overflowed = false
    /// The secondary has answered a change on this line: its server started.
    private var answered = false
    private var retired = false

    /// Changes sent before the first answer is waited for.
    static let window = 64
    /// How long the line's thread leaves an answer a serving loop waits on
    /// (unless called for), or waits on one itself, before it looks at the line again.
    static let attendedPauseSeconds = 0.05

    /// A line to `server`'s copy of `group` over `connection`, its thread started.
    init(server: Int, group: Int, connection: ServerConnection, timeoutSeconds: Double) {
        self.server = server
        self.group = group
        self.connection = connection
        self.timeoutSeconds = timeoutSeconds
        if let thread = startThread(named: "line g\(group) s\(server)", { [self] in run() }) { pthread_detach(thread) }
    }

    /// Queues `owed` and sends it from this thread when the line is up;
    /// `passage` hears from this line when the secondary has it, or at once
    /// when the line is failing. `callerAttends`: the caller is the serving
    /// loop that takes this line's answers, and will wait on this one.
    func send(_ owed: Owed, _ passage: Passage, callerAttends: Bool) {
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
        // Dialing or looking a name up may wait: only a connection already up is used from here.
        if !threadHoldsConnection, connection.isConnected { sendWhatIsDue() }
        // The line's thread is called only for what no serving loop does: dialing, or an answer no loop waits on.
        if hasChangesToSend || !callerAttends { condition.broadcast() }
    }

    /// The answer the line waits for first, for a serving loop to wait on
    /// beside its clients, once the answers that came as successes are taken
    /// (nil: none, or the line's thread has it). An answer that came between
    /// a loop's last look and this one is taken here, not left unseen.
    var oldestArrival: Request<Message>? {
        condition.lock()
        defer { condition.unlock() }
        takeSuccessfulAnswers()
        guard !threadHoldsConnection, let oldest = flights.first, let arrival = oldest.flight.arrival, !arrival.isComplete else { return nil }
        attended = oldest.sequence
        return arrival
    }

    /// No serving loop waits on this line's answers any more: its thread takes them.
    func stopAttending() {
        condition.lock()
        defer { condition.unlock() }
        attended = nil
        condition.broadcast()
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
            // No serving loop may be taking the answers now (this is called as one stops): take them here.
            takeSuccessfulAnswers()
            _ = condition.wait(until: Date(timeIntervalSinceNow: min(0.001, max(0.0001, Double(deadline.remainingNanoseconds) / 1e9))))
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
        return owed
    }

    private func failure(_ name: String, _ reason: String) -> FSError {
        FSError(.serverUnavailable, "group \(group)'s copy on server \(server) did not take \(name): \(reason)")
    }

    private func behind(_ reason: String) -> FSError {
        FSError(.serverUnavailable, "group \(group)'s copy on server \(server) is behind: \(reason)")
    }

    // MARK: Under the lock

    /// Sends the changes given and not yet sent, up to the window, unless
    /// the line is failing; from the line's thread, which may dial, with the
    /// lock let go while each is sent.
    private func sendWhatIsDue(fromLineThread: Bool = false) {
        while hasChangesToSend, let first = queue.first {
            guard start(queue[Int(nextToSend &- first.sequence)], fromLineThread: fromLineThread) else { return }
        }
    }

    /// Sends `entry` on the connection; when it cannot go, fails the line
    /// (the next change must not pass it) and returns false.
    private func start(_ entry: Entry, fromLineThread: Bool) -> Bool {
        let deadline = Deadline.after(seconds: timeoutSeconds)
        nextToSend = entry.sequence + 1
        let flight: OwedFlight
        if fromLineThread {
            threadHoldsConnection = true
            condition.unlock()
            flight = entry.owed.start(connection, deadline)
            condition.lock()
            threadHoldsConnection = false
        } else {
            flight = entry.owed.start(connection, deadline)
        }
        flights.append(Flight(sequence: entry.sequence, flight: flight, deadline: deadline))
        guard flight.arrival != nil, !retired else {
            if !retired { fail(FSError(.serverUnavailable, "\(entry.owed.name) could not be sent")) }
            return false
        }
        return true
    }

    private func takeSuccessfulAnswers() {
        guard !threadHoldsConnection else { return }
        var through: UInt64?
        while let oldest = flights.first, oldest.flight.succeeded() {
            flights.removeFirst()
            through = oldest.sequence
        }
        if let through { delivered(through: through) }
        // A failure is the line's thread's to take.
        if flights.first?.flight.arrival?.isComplete == true { condition.broadcast() }
    }

    /// Whether changes given are not sent yet, and the line may send them now.
    private var hasChangesToSend: Bool {
        guard !failing, !retired, flights.count < Self.window, let first = queue.first else { return false }
        return Int(nextToSend &- first.sequence) < queue.count
    }

    private func delivered(through sequence: UInt64) {
        failing = false
        answered = true
        while let first = queue.first, first.sequence <= sequence {
            if !first.resolved { first.passage.resolve(nil) }
            queue.removeFirst()
        }
    }

    /// Gives up every flight and the connection (whatever was sent after
    /// the failed change goes again, in order, on a new one), and fails
    /// every change owed.
    private func fail(_ error: any Error) {
        for owed in flights { owed.flight.abandon() }
        flights.removeAll()
        connection.drop()
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

    // MARK: The line's thread

    private func run() {
        condition.lock()
        defer { condition.unlock() }
        while !retired {
            takeSuccessfulAnswers()
            if failing, flights.isEmpty, !queue.isEmpty, MonotonicClock.nanoseconds() &- lastTry >= 1_000_000_000 {
                // A try again, from the first change owed: new changes still fail at once until one goes through.
                lastTry = MonotonicClock.nanoseconds()
                nextToSend = queue.first!.sequence
                for entry in Array(queue.prefix(Self.window)) {
                    guard start(entry, fromLineThread: true) else { break }
                }
                continue
            }
            if hasChangesToSend {
                // Given while no connection was up: this thread may dial.
                sendWhatIsDue(fromLineThread: true)
                continue
            }
            guard let oldest = flights.first else {
                _ = condition.wait(until: Date(timeIntervalSinceNow: failing ? 0.1 : 1))
                continue
            }
            // An answer that came as a success is the serving loop's to take, or this thread's at its next look.
            let leftHere = oldest.flight.arrival.map { $0.isComplete && !oldest.flight.succeeded() } ?? true
            guard leftHere || oldest.deadline.hasPassed else {
                let pause = min(Deadline.after(seconds: Self.attendedPauseSeconds), oldest.deadline)
                if attended == oldest.sequence {
                    // A serving loop waits on the answer: it takes it, and calls for this thread only on a failure.
                    _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.0001, Double(pause.remainingNanoseconds) / 1e9)))
                } else if let arrival = oldest.flight.arrival {
                    // No loop waits on it (it was sent from another thread): this thread does.
                    condition.unlock()
                    _ = try? waitAny([arrival], deadline: pause)
                    condition.lock()
                }
                continue
            }
            // A failure or a deadline: the connection's own wait, which may retry and so may block.
            threadHoldsConnection = true
            condition.unlock()
            let outcome = Result { try oldest.flight.finish(oldest.deadline) }
            condition.lock()
            threadHoldsConnection = false
            if retired { break }
            switch outcome {
            case .success:
                flights.removeFirst()
                delivered(through: oldest.sequence)
            case .failure(let error):
                fail(error)
            }
        }
        for owed in flights { owed.flight.abandon() }
        flights.removeAll()
        connection.drop()
    }
}
