import Synchronization
import TrellisFSProtocol
import TrellisFSStorage

/// The lines a copy of a replica group passes its changes on by while it is
/// the group's primary: none on a secondary, and new ones when the group's
/// members change (a failover, or a secondary dropped).
public final class Secondaries: Sendable {
    private let replicator: Mutex<Replicator?>

    /// Lines through `replicator` (nil: none yet).
    public init(_ replicator: Replicator? = nil) { self.replicator = Mutex(replicator) }

    /// Passes `operation` on to every secondary; nothing to do without any.
    public func ship<Operation: FSOperation>(_ operation: Operation) throws {
        guard let replicator = replicator.withLock({ $0 }) else { return }
        try replicator.ship(operation)
    }

    /// Passes a commit's rows on.
    public func ship(_ changes: Changeset) throws {
        guard let replicator = replicator.withLock({ $0 }) else { return }
        try replicator.ship(changes)
    }

    /// Throws unless every secondary holds every change passed on so far.
    public func catchUp() throws {
        guard let replicator = replicator.withLock({ $0 }) else { return }
        try replicator.catchUp()
    }

    /// Uses `next` from now on, ending the lines it replaces.
    public func replace(with next: Replicator?) {
        let previous = replicator.withLock { current in
            defer { current = next }
            return current
        }
        previous?.close()
    }
}
