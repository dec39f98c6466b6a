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
/// as the client's own write.
public final class Replicator: Sendable {
    /// The replica group it serves as primary.
    public let group: Int
    private let lines: Mutex<[Line]>
    private let timeoutSeconds: Double
    /// A primary acts for the file system, not for a user.
    private static let credentials = Credentials(uid: 0, gid: 0)
    /// Changes a line keeps for a secondary that stopped answering, to send
    /// once it answers again; past this many it is out of step for good.
    public static let backlogLimit = 4096

    /// One secondary: its connection and, once it has missed a change, the
    /// changes it is owed, in order (each resent as it was: applying one
    /// twice leaves the same rows and bytes).
    private struct Line {
        let connection: ServerConnection
        var backlog: [@Sendable (ServerConnection, Deadline) throws -> Void] = []
        var lastTry: UInt64 = 0
    }

    /// Lines to the copies of `group` on `secondaries` (their service
    /// names), made on first use.
    public init(group: Int, secondaries: [(server: Int, serviceName: String)], runtime: Runtime, timeoutSeconds: Double) {
        self.group = group
        self.timeoutSeconds = timeoutSeconds
        let requestIDs = RequestIDSource()
        lines = Mutex(secondaries.map { Line(connection: ServerConnection(index: $0.server, serviceName: $0.serviceName, runtime: runtime, requestIDs: requestIDs)) })
    }

    /// Sends `operation` to every secondary at once and returns when each
    /// has done it. A secondary that fails (or owes changes from before) is
    /// not waited on again for every change: the change joins its backlog,
    /// tried at most once a second, and this throws `serverUnavailable`
    /// naming it, until it takes its backlog or the group goes on without it.
    public func ship<Operation: FSOperation>(_ operation: Operation) throws {
        let send: @Sendable (ServerConnection, Deadline) throws -> Void = { line, deadline in
            _ = try line.call(operation, credentials: Self.credentials, deadline: deadline)
        }
        try lines.withLock { lines in
            let deadline = Deadline.after(seconds: timeoutSeconds)
            let healthy = lines.indices.filter { lines[$0].backlog.isEmpty }
            let flights = healthy.map { lines[$0].connection.start(operation, credentials: Self.credentials, deadline: deadline) }
            var failure: FSError?
            func failed(_ position: Int, _ error: any Error) {
                let reason = (error as? FSError)?.message ?? "\(error)"
                failure = failure ?? FSError(
                    .serverUnavailable, "group \(group)'s copy on server \(lines[position].connection.index) did not take \(Operation.name): \(reason)")
            }
            for (position, flight) in zip(healthy, flights) {
                do {
                    _ = try lines[position].connection.finish(flight, deadline: deadline)
                } catch {
                    lines[position].backlog = [send]
                    lines[position].lastTry = MonotonicClock.nanoseconds()
                    failed(position, error)
                }
            }
            for position in lines.indices where !healthy.contains(position) {
                guard lines[position].backlog.count < Self.backlogLimit else {
                    failed(position, FSError(.serverUnavailable, "it owes \(Self.backlogLimit) changes already"))
                    continue
                }
                lines[position].backlog.append(send)
                do {
                    try Self.sendBacklog(of: &lines[position], deadline: deadline)
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
    public func catchUp() throws {
        try lines.withLock { lines in
            let deadline = Deadline.after(seconds: timeoutSeconds)
            for position in lines.indices where !lines[position].backlog.isEmpty {
                do {
                    try Self.sendBacklog(of: &lines[position], deadline: deadline)
                } catch {
                    let reason = (error as? FSError)?.message ?? "\(error)"
                    throw FSError(.serverUnavailable, "group \(group)'s copy on server \(lines[position].connection.index) is behind: \(reason)")
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
            try next(line.connection, deadline)
            line.backlog.removeFirst()
        }
    }

    /// Sends a commit's rows.
    public func ship(_ changes: Changeset) throws {
        try ship(ApplyChanges(group: UInt32(group), changeset: ByteBuffer(bytes: changes.bytes)))
    }

    /// Ends the lines.
    public func close() {
        lines.withLock { lines in for line in lines { line.connection.drop() } }
    }
}
