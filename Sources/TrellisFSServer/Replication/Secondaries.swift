import Glibc
import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisFSStorage
import TrellisSystem

/// The lines a copy of a replica group passes its changes on by while it is
/// the group's primary: none on a secondary, and new ones when the group's
/// members change (a failover, a secondary dropped, a copy resynced and
/// taken back); and the resyncs it runs.
public final class Secondaries: Sendable {
    private let replicator: Mutex<Replicator?>
    /// The newest change each thread started (a commit, a write), on its
    /// way to the secondaries, until the thread takes it (by thread). The
    /// newest is enough: each line delivers in order, so a secondary that
    /// has it has every earlier one.
    private let commitPassages = Mutex<[UInt: Passage]>([:])
    /// The resync of each copy under way, or the last one, by server.
    private let resyncs = Mutex<[Int: ResyncProgress]>([:])
    /// The thread of the serving loop that takes the lines' answers (0: none).
    private let attendingThread = Atomic<UInt>(0)

    /// Lines through `replicator` (nil: none yet).
    init(_ replicator: Replicator? = nil) { self.replicator = Mutex(replicator) }

    /// The lines in use (nil on a secondary).
    var current: Replicator? { replicator.withLock { $0 } }

    /// Passes `operation` on to every secondary and returns once each has
    /// it; nothing to do without any.
    func ship<Operation: SentByPrimary>(_ operation: Operation) throws {
        if let failure = current?.ship(operation, callerAttends: false).outcome() { throw failure }
    }

    /// Starts `operation` on its way to every secondary and returns at once;
    /// the thread takes its passage with `takePassage` (or waits for it
    /// with `waitForCommits`), as for a commit.
    func start<Operation: SentByPrimary>(_ operation: Operation) {
        guard let passage = current?.ship(operation, callerAttends: callerAttends) else { return }
        commitPassages.withLock { $0[Self.thisThread] = passage }
    }

    /// Starts a commit's rows on their way (called as the commit ends, while
    /// the database is still held, so commits leave in the order made); the
    /// committing thread takes the passage with `takePassage`.
    func startCommit(_ changes: Changeset) {
        guard let passage = current?.ship(changes, callerAttends: callerAttends) else { return }
        commitPassages.withLock { $0[Self.thisThread] = passage }
    }

    /// The passage of the newest change this thread started and has not taken (nil: none).
    func takePassage() -> Passage? {
        commitPassages.withLock { $0.removeValue(forKey: Self.thisThread) }
    }

    /// Waits until the newest change this thread started is on every secondary;
    /// why it is not (nil: it is, or the thread started none since it last asked).
    func waitForCommits() -> FSError? {
        takePassage()?.outcome()
    }

    private static var thisThread: UInt { UInt(bitPattern: Int(bitPattern: pthread_self())) }

    /// The calling thread (a serving loop) waits on the lines' answers and
    /// takes them (`Replicator.oldestArrivals`) from now on.
    func attend() { attendingThread.store(Self.thisThread, ordering: .relaxed) }

    /// The serving loop no longer takes the lines' answers: their threads do.
    func stopAttending() {
        attendingThread.store(0, ordering: .relaxed)
        current?.stopAttending()
    }

    /// Whether the calling thread is the serving loop that takes the lines' answers.
    private var callerAttends: Bool { attendingThread.load(ordering: .relaxed) == Self.thisThread }

    /// Throws unless every secondary holds every change passed on so far.
    func catchUp() throws {
        try current?.catchUp()
    }

    /// Uses `next` from now on, ending the lines it replaces.
    func replace(with next: Replicator?) {
        let previous = replicator.withLock { current in
            defer { current = next }
            return current
        }
        previous?.close()
    }

    /// Starts `work` (a resync of `member`) on a thread of its own, unless
    /// one is under way; `work` reports its progress through `update`.
    /// Whether it started.
    @discardableResult
    func startResync(of member: Int, _ work: @escaping @Sendable (_ update: @escaping ResyncUpdate) -> Void) -> Bool {
        let started = resyncs.withLock { resyncs in
            if resyncs[member]?.running == true { return false }
            resyncs[member] = ResyncProgress()
            return true
        }
        guard started else { return false }
        let update: ResyncUpdate = { [self] change in
            self.resyncs.withLock { resyncs in if resyncs[member] != nil { change(&resyncs[member]!) } }
        }
        let thread = startThread(named: "resync s\(member)") {
            work(update)
            update { $0.finish() }
        }
        if thread == nil { update { $0.finish() } }
        return true
    }

    /// The resync of `member` under way (nil: none).
    func resync(of member: Int) -> ResyncProgress? {
        resyncs.withLock { resyncs in resyncs[member].flatMap { $0.running ? $0 : nil } }
    }

    /// Each placed member's state with the progress of its resync.
    func memberStates() -> [MemberState] {
        let progress = resyncs.withLock { $0 }
        return (current?.memberStates() ?? []).map { state in
            guard let resync = progress[Int(state.server)] else { return state }
            var shown = resync.state(of: state.server, owed: state.owed)
            if state.state != .needsResync { shown.state = state.state }
            return shown
        }
    }
}

/// Changes a resync's progress (under the lock that keeps it).
typealias ResyncUpdate = @Sendable ((inout ResyncProgress) -> Void) -> Void

/// How far a resync of one copy has come.
struct ResyncProgress: Sendable {
    var full = false
    var sentBytes: UInt64 = 0, totalBytes: UInt64 = 0
    var sentObjects: UInt64 = 0, totalObjects: UInt64 = 0
    let started = MonotonicClock.nanoseconds()
    private(set) var finished: UInt64?
    var running: Bool { finished == nil }

    mutating func finish() { finished = finished ?? MonotonicClock.nanoseconds() }

    /// The member's state as it shows: resyncing while this runs.
    func state(of server: UInt32, owed: UInt64) -> MemberState {
        MemberState(
            server: server, state: running ? .resyncing : .needsResync, owed: owed, full: full, sentBytes: sentBytes, totalBytes: totalBytes,
            sentObjects: sentObjects, totalObjects: totalObjects, milliseconds: ((finished ?? MonotonicClock.nanoseconds()) &- started) / 1_000_000)
    }
}
