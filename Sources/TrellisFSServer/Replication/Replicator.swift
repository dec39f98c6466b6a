import Foundation
import NIOCore
import Synchronization
import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime

/// A primary's lines to the secondaries of its replica group. Every change
/// goes to each of them in the order made, several on their way at once
/// (`SecondaryLine`), and a change is done once each has it, as its
/// `Passage` tells (the primary-copy write path of the
/// paper on MPI as the transport of a replicated, striped storage service:
/// the primary relays each request to the secondaries and answers the client
/// once). Metadata goes as the rows a commit changed (`ApplyChanges`), data
/// as the client's own write. For each copy the group went on without, it
/// keeps a log of what that copy misses, which a resync sends.
public final class Replicator: Sendable {
    /// The replica group it serves as primary.
    public let group: Int
    private let state: Mutex<State>
    private let timeoutSeconds: Double
    private let connect: @Sendable (Int) -> ServerConnection
    /// Makes the request a passage completes, for a serving loop to wait on.
    private let startCompletion: @Sendable () -> GeneralizedRequest
    /// A primary acts for the file system, not for a user.
    static let credentials = Credentials(uid: 0, gid: 0)
    /// Changes a line keeps for a secondary that stopped answering, to send
    /// once it answers again; past this many it is out of step until its
    /// group goes on without it and resyncs it.
    public static let backlogLimit = 4096

    private struct State {
        var lines: [SecondaryLine]
        /// What each copy out of the group has missed, by server.
        var missed: [Int: MissedChanges] = [:]
        /// Secondaries not known to have had every change before their line
        /// began (a copy that took the group over does not know which of
        /// its old primary's last changes the others took): a log of what
        /// such a copy misses never covers everything.
        var notKnownInStep: Set<Int> = []
    }

    /// Lines to the copies of `group` on `secondaries`, made by `connect`,
    /// which hold every change made so far when `inStep`; `startCompletion`
    /// makes the request each change's passage completes.
    init(
        group: Int, secondaries: [Int], inStep: Bool = true, timeoutSeconds: Double, startCompletion: @escaping @Sendable () -> GeneralizedRequest,
        connect: @escaping @Sendable (Int) -> ServerConnection
    ) {
        self.group = group
        self.timeoutSeconds = timeoutSeconds
        self.connect = connect
        self.startCompletion = startCompletion
        state = Mutex(State(lines: []))
        state.withLock { state in
            state.lines = secondaries.map(line(to:))
            if !inStep { state.notKnownInStep = Set(secondaries) }
        }
    }

    private func line(to server: Int) -> SecondaryLine {
        SecondaryLine(server: server, group: group, connection: connect(server), timeoutSeconds: timeoutSeconds)
    }

    /// The secondaries it sends to.
    var secondaries: [Int] { state.withLock { $0.lines.map(\.server) } }

    /// Whether `server`'s copy has answered a change on its line.
    func hasAnswered(_ server: Int) -> Bool { state.withLock { $0.lines.first { $0.server == server } }?.hasAnswered ?? false }

    /// Starts `operation` on its way to every secondary, after every change
    /// started before it, and returns at once; its passage says when each has
    /// it. A secondary that failed (or owes changes from before) is not waited
    /// on again for every change: it is sent the change with the rest it owes,
    /// at most once a second, and the passage fails at once naming it, until
    /// it takes what it owes or the group goes on without it.
    /// `callerAttends`: the caller is the serving loop that takes the lines' answers (`oldestArrivals`).
    func ship<Operation: SentByPrimary>(_ operation: Operation, callerAttends: Bool) -> Passage {
        let owed = Owed(operation)
        return state.withLock { state in
            for server in state.missed.keys { state.missed[server]!.add(owed.missed) }
            let passage = Passage(lines: state.lines.count, completion: startCompletion(), waitSeconds: 3 * timeoutSeconds + 1)
            for line in state.lines { line.send(owed, passage, callerAttends: callerAttends) }
            return passage
        }
    }

    /// The answer each line waits for first, for a serving loop to wait on
    /// beside its clients, once the answers that came are taken.
    var oldestArrivals: [Request<Message>] { state.withLock { $0.lines }.compactMap { $0.oldestArrival } }

    /// The lines' threads take their answers from now on.
    func stopAttending() {
        for line in state.withLock({ $0.lines }) { line.stopAttending() }
    }

    /// Starts a commit's rows on their way.
    func ship(_ changes: Changeset, callerAttends: Bool) -> Passage {
        ship(ApplyChanges(group: UInt32(group), changeset: ByteBuffer(bytes: changes.bytes)), callerAttends: callerAttends)
    }

    /// Returns once every secondary holds every change started before the
    /// call, and throws when one does not (it failed, or is slow to answer):
    /// a reply recorded before a failure goes out only once every copy holds
    /// the change it answers.
    func catchUp() throws {
        let lines = state.withLock { $0.lines }
        let deadline = Deadline.after(seconds: timeoutSeconds)
        for line in lines { try line.catchUp(deadline: deadline) }
    }

    /// Sends to `secondaries` from now on: a copy left out keeps a log of
    /// what it misses (starting with what it was owed), a copy added gets a line.
    func change(to secondaries: [Int]) {
        state.withLock { state in
            for line in state.lines where !secondaries.contains(line.server) {
                // The group goes on without it: what it was sent last counts as passed, and goes in its log.
                let owed = line.retire(resolution: nil)
                var missed = MissedChanges(coversEverythingBefore: owed != nil && !state.notKnownInStep.contains(line.server))
                state.notKnownInStep.remove(line.server)
                for change in owed ?? [] { missed.add(change) }
                state.missed[line.server] = missed
            }
            let kept = Dictionary(uniqueKeysWithValues: state.lines.map { ($0.server, $0) })
            state.lines = secondaries.map { server in
                if let line = kept[server] { return line }
                state.missed[server] = nil
                return line(to: server)
            }
        }
    }

    /// Whether a resync of `member` can send its log alone.
    func hasCompleteLog(of member: Int) -> Bool { state.withLock { $0.missed[member]?.isComplete ?? false } }

    /// Starts an empty log of what `member` misses, which covers everything
    /// once `markCoversEverythingBefore` says a full resync sent the rest.
    func beginLog(of member: Int) { state.withLock { $0.missed[member] = MissedChanges(coversEverythingBefore: false) } }

    /// A full resync of `member` sent everything from before its log began.
    func markCoversEverythingBefore(of member: Int) { state.withLock { $0.missed[member]?.markCoversEverythingBefore() } }

    /// Takes what `member` has missed so far; throws when no log, or no
    /// complete one, is kept (it was given up: sending it would leave the
    /// copy without changes it lacks).
    func takeMissed(of member: Int) throws -> MissedChanges {
        try state.withLock { state in
            guard state.missed[member]?.isComplete == true else { throw Self.noCompleteLog(of: member, group) }
            return state.missed[member]!.take()
        }
    }

    private static func noCompleteLog(of member: Int, _ group: Int) -> FSError {
        FSError(.invalidArgument, "group \(group) keeps no complete log of what server \(member) missed (it was given up, or the copy is a member)")
    }

    /// Gives up `member`'s log: what it missed is no longer all known.
    func giveUpLog(of member: Int) { state.withLock { $0.missed[member]?.giveUp() } }

    /// Takes `member` back: with no change made meanwhile, `finish` sends the
    /// rest of its log and wins the vote that adds it; then it gets a line
    /// like any secondary. When `finish` throws, the log stays as it was.
    func admit(_ member: Int, finish: (MissedChanges) throws -> Void) throws {
        try state.withLock { state in
            guard var missed = state.missed[member], missed.isComplete else { throw Self.noCompleteLog(of: member, group) }
            let rest = missed.take()
            try finish(rest)
            state.missed[member] = nil
            state.lines.append(line(to: member))
        }
    }

    /// Each member's state: a secondary is good, or behind by its backlog;
    /// a copy out of the group needs a resync (owing its log).
    func memberStates() -> [MemberState] {
        state.withLock { state in
            state.lines.map(\.state) + state.missed.keys.sorted().map { server in
                MemberState(server: UInt32(server), state: .needsResync, owed: UInt64(state.missed[server]!.count))
            }
        }
    }

    /// Ends the lines: this copy stops being the group's primary, so a
    /// change still on its way fails (its client asks the next primary).
    func close() {
        state.withLock { state in
            for line in state.lines {
                _ = line.retire(resolution: FSError(.notPrimary, "group \(group)'s primary stepped down before its secondaries took the change"))
            }
        }
    }
}
