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
    private let lines: Mutex<[ServerConnection]>
    private let timeoutSeconds: Double
    /// A primary acts for the file system, not for a user.
    private static let credentials = Credentials(uid: 0, gid: 0)

    /// Lines to the copies of `group` on `secondaries` (their service
    /// names), made on first use.
    public init(group: Int, secondaries: [(server: Int, serviceName: String)], runtime: Runtime, timeoutSeconds: Double) {
        self.group = group
        self.timeoutSeconds = timeoutSeconds
        let requestIDs = RequestIDSource()
        lines = Mutex(secondaries.map { ServerConnection(index: $0.server, serviceName: $0.serviceName, runtime: runtime, requestIDs: requestIDs) })
    }

    /// Sends `operation` to every secondary at once and returns when each has
    /// done it; the error names the first secondary that failed.
    public func ship<Operation: FSOperation>(_ operation: Operation) throws {
        try lines.withLock { lines in
            let deadline = Deadline.after(seconds: timeoutSeconds)
            let flights = lines.map { $0.start(operation, credentials: Self.credentials, deadline: deadline) }
            var failure: FSError?
            for (line, flight) in zip(lines, flights) {
                do {
                    _ = try line.finish(flight, deadline: deadline)
                } catch {
                    let reason = (error as? FSError)?.message ?? "\(error)"
                    failure = failure ?? FSError(.serverUnavailable, "group \(group)'s copy on server \(line.index) did not take \(Operation.name): \(reason)")
                }
            }
            if let failure { throw failure }
        }
    }

    /// Sends a commit's rows.
    public func ship(_ changes: Changeset) throws {
        try ship(ApplyChanges(group: UInt32(group), changeset: ByteBuffer(bytes: changes.bytes)))
    }

    /// Ends the lines.
    public func close() {
        lines.withLock { lines in for line in lines { line.drop() } }
    }
}
