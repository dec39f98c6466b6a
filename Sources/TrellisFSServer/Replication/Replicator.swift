import Foundation
import NIOCore
import Synchronization
import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime

/// A primary's lines to the secondaries of its replica group. Every change
/// goes to each of them, one change at a time and in the order made, and a
/// change is done once each has it (the primary-copy write path of the
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
    /// A primary acts for the file system, not for a user.
    static let credentials = Credentials(uid: 0, gid: 0)
    /// Changes a line keeps for a secondary that stopped answering, to send
    /// once it answers again; past this many it is out of step until its
    /// group goes on without it and resyncs it.
    public static let backlogLimit = 4096

    private struct State {
        var lines: [Line]
        /// What each copy out of the group has missed, by server.
        var missed: [Int: MissedChanges] = [:]
    }

    /// One secondary: its connection and, once it has missed a change, the
    /// changes it is owed, in order (each resent as it was: applying one
    /// twice leaves the same rows and bytes).
    private struct Line {
        let server: Int
        let connection: ServerConnection
        var backlog: [Owed] = []
        var lastTry: UInt64 = 0
        /// Whether it fell so far behind that its backlog no longer holds all it lacks.
        var overflowed = false
    }

    /// A change a secondary is owed: how to send it, and what it lacks without it.
    private struct Owed {
        let send: @Sendable (ServerConnection, Deadline) throws -> Void
        let missed: MissedChange
    }

    /// Lines to the copies of `group` on `secondaries`, made by `connect`.
    init(group: Int, secondaries: [Int], timeoutSeconds: Double, connect: @escaping @Sendable (Int) -> ServerConnection) {
        self.group = group
        self.timeoutSeconds = timeoutSeconds
        self.connect = connect
        state = Mutex(State(lines: secondaries.map { Line(server: $0, connection: connect($0)) }))
    }

    /// The secondaries it sends to.
    var secondaries: [Int] { state.withLock { $0.lines.map(\.server) } }

    /// Sends `operation` to every secondary at once and returns when each
    /// has done it. A secondary that fails (or owes changes from before) is
    /// not waited on again for every change: the change joins its backlog,
    /// tried at most once a second, and this throws `serverUnavailable`
    /// naming it, until it takes its backlog or the group goes on without it.
    func ship<Operation: SentByPrimary>(_ operation: Operation) throws {
        let owed = Owed(send: { line, deadline in _ = try line.call(operation, credentials: Self.credentials, deadline: deadline) }, missed: operation.missed)
        try state.withLock { state in
            for server in state.missed.keys { state.missed[server]!.add(owed.missed) }
            let deadline = Deadline.after(seconds: timeoutSeconds)
            let healthy = state.lines.indices.filter { state.lines[$0].backlog.isEmpty && !state.lines[$0].overflowed }
            let flights = healthy.map { state.lines[$0].connection.start(operation, credentials: Self.credentials, deadline: deadline) }
            var failure: FSError?
            func failed(_ position: Int, _ error: any Error) {
                let reason = (error as? FSError)?.message ?? "\(error)"
                failure = failure ?? FSError(
                    .serverUnavailable, "group \(group)'s copy on server \(state.lines[position].server) did not take \(Operation.name): \(reason)")
            }
            for (position, flight) in zip(healthy, flights) {
                do {
                    _ = try state.lines[position].connection.finish(flight, deadline: deadline)
                } catch {
                    state.lines[position].backlog = [owed]
                    state.lines[position].lastTry = MonotonicClock.nanoseconds()
                    failed(position, error)
                }
            }
            for position in state.lines.indices where !healthy.contains(position) {
                guard state.lines[position].backlog.count < Self.backlogLimit, !state.lines[position].overflowed else {
                    state.lines[position].overflowed = true
                    failed(position, FSError(.serverUnavailable, "it owes \(Self.backlogLimit) changes already"))
                    continue
                }
                state.lines[position].backlog.append(owed)
                do {
                    try Self.sendBacklog(of: &state.lines[position], deadline: deadline)
                } catch {
                    failed(position, error)
                }
            }
            if let failure { throw failure }
        }
    }

    /// Sends what each secondary is owed, and throws unless every one has
    /// all of it: a reply recorded before a failure goes out only once every
    /// copy holds the change it answers.
    func catchUp() throws {
        try state.withLock { state in
            let deadline = Deadline.after(seconds: timeoutSeconds)
            for position in state.lines.indices where !state.lines[position].backlog.isEmpty || state.lines[position].overflowed {
                do {
                    guard !state.lines[position].overflowed else { throw FSError(.serverUnavailable, "it fell too far behind to catch up") }
                    try Self.sendBacklog(of: &state.lines[position], deadline: deadline)
                } catch {
                    let reason = (error as? FSError)?.message ?? "\(error)"
                    throw FSError(.serverUnavailable, "group \(group)'s copy on server \(state.lines[position].server) is behind: \(reason)")
                }
            }
        }
    }

    /// Sends a line's backlog in order, at most once a second.
    private static func sendBacklog(of line: inout Line, deadline: Deadline) throws {
        guard MonotonicClock.nanoseconds() &- line.lastTry >= 1_000_000_000 else {
            throw FSError(.serverUnavailable, "it did not answer a moment ago")
        }
        line.lastTry = MonotonicClock.nanoseconds()
        while let next = line.backlog.first {
            try next.send(line.connection, deadline)
            line.backlog.removeFirst()
        }
    }

    /// Sends a commit's rows.
    func ship(_ changes: Changeset) throws {
        try ship(ApplyChanges(group: UInt32(group), changeset: ByteBuffer(bytes: changes.bytes)))
    }

    /// Sends to `secondaries` from now on: a copy left out keeps a log of
    /// what it misses (starting with what it was owed), a copy added gets a line.
    func change(to secondaries: [Int]) {
        state.withLock { state in
            for line in state.lines where !secondaries.contains(line.server) {
                var missed = MissedChanges(coversEverythingBefore: !line.overflowed)
                for owed in line.backlog { missed.add(owed.missed) }
                state.missed[line.server] = missed
                line.connection.drop()
            }
            let kept = Dictionary(uniqueKeysWithValues: state.lines.map { ($0.server, $0) })
            state.lines = secondaries.map { server in
                if let line = kept[server] { return line }
                state.missed[server] = nil
                return Line(server: server, connection: connect(server))
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

    /// Takes what `member` has missed so far (nil: it keeps no log).
    func takeMissed(of member: Int) -> MissedChanges? {
        state.withLock { state in state.missed[member] == nil ? nil : state.missed[member]!.take() }
    }

    /// Gives up `member`'s log: what it missed is no longer all known.
    func giveUpLog(of member: Int) { state.withLock { $0.missed[member]?.giveUp() } }

    /// Takes `member` back: with no change made meanwhile, `finish` sends the
    /// rest of its log and wins the vote that adds it; then it gets a line
    /// like any secondary. When `finish` throws, the log stays as it was.
    func admit(_ member: Int, finish: (MissedChanges) throws -> Void) throws {
        try state.withLock { state in
            guard var missed = state.missed[member] else {
                throw FSError(.invalidArgument, "group \(group) keeps no log of server \(member): it is a member, or was not resynced")
            }
            let rest = missed.take()
            try finish(rest)
            state.missed[member] = nil
            state.lines.append(Line(server: member, connection: connect(member)))
        }
    }

    /// Each member's state: a secondary is good, or behind by its backlog;
    /// a copy out of the group needs a resync (owing its log).
    func memberStates() -> [MemberState] {
        state.withLock { state in
            state.lines.map { line in
                MemberState(server: UInt32(line.server), state: line.backlog.isEmpty && !line.overflowed ? .good : .behind, owed: UInt64(line.backlog.count))
            } + state.missed.keys.sorted().map { server in
                MemberState(server: UInt32(server), state: .needsResync, owed: UInt64(state.missed[server]!.count))
            }
        }
    }

    /// Ends the lines.
    func close() {
        state.withLock { state in for line in state.lines { line.connection.drop() } }
    }
}
