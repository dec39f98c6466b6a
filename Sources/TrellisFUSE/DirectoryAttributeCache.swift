import Synchronization
import TrellisCore
import TrellisFSProtocol

/// Directories' attributes as this mount last fetched them, kept current
/// by this mount's own creates in them, for no longer than the kernel may
/// keep attributes itself (`attr_timeout` from the fetch).
///
/// Why: every create changes its directory, so the kernel drops the
/// directory's cached attributes, and its permission check for the next
/// create asks for them again (`default_permissions`). Answered from here,
/// that costs no round trip, and what it answers is what the servers hold:
/// a file, FIFO, socket or symlink is made on its directory's server,
/// which stamps the directory with the new object's own change time.
/// Any other change of a directory through this mount drops its entry; a
/// fetch that raced with a change is not kept.
final class DirectoryAttributeCache: Sendable {
    private struct Entry {
        var attributes: ObjectAttributes
        var freshUntil: Deadline
        /// The directory's generation when the fetch began.
        var fetchedAt: Generation
    }
    private struct State {
        var entries: [ObjectHandle: Entry] = [:]
        /// Bumped by every change, so a fetch that began before one is not
        /// kept; when the table grows too large it starts over in a new epoch.
        var generations: [ObjectHandle: UInt64] = [:]
        var epoch: UInt64 = 0

        mutating func bump(_ handle: ObjectHandle) {
            if generations.count >= DirectoryAttributeCache.capacity * 4 {
                generations.removeAll()
                epoch += 1
            }
            generations[handle, default: 0] += 1
        }

        func generation(of handle: ObjectHandle) -> Generation { Generation(epoch: epoch, count: generations[handle] ?? 0) }
    }

    struct Generation: Equatable {
        var epoch: UInt64
        var count: UInt64

        func isBefore(_ other: Generation) -> Bool { epoch == other.epoch && count < other.count }
    }
    private let state = Mutex(State())
    private let lifetime: Duration

    /// Entries kept at most; past it, the expired go, then all.
    static let capacity = 4096

    init(lifetimeSeconds: Double) {
        lifetime = .nanoseconds(Int64(lifetimeSeconds * 1e9))
    }

    /// A directory's attributes while fresh, and for how many seconds more.
    func fresh(_ handle: ObjectHandle) -> (attributes: ObjectAttributes, seconds: Double)? {
        state.withLock { state in
            guard let entry = state.entries[handle] else { return nil }
            guard !entry.freshUntil.hasPassed else {
                state.entries.removeValue(forKey: handle)
                return nil
            }
            return (entry.attributes, Double(entry.freshUntil.remainingNanoseconds) / 1e9)
        }
    }

    /// Where a fetch starts: what `remember` checks nothing changed since.
    func generation(of handle: ObjectHandle) -> Generation {
        state.withLock { $0.generation(of: handle) }
    }

    /// Keeps a directory's attributes fetched from its server, unless this
    /// mount changed the directory while the fetch was under way.
    func remember(_ attributes: ObjectAttributes, fetchedAt generation: Generation) {
        guard attributes.kind == .directory, lifetime > .zero else { return }
        state.withLock { state in
            guard state.generation(of: attributes.handle) == generation else { return }
            if state.entries.count >= Self.capacity {
                state.entries = state.entries.filter { !$0.value.freshUntil.hasPassed }
                if state.entries.count >= Self.capacity { state.entries.removeAll() }
            }
            state.entries[attributes.handle] = Entry(attributes: attributes, freshUntil: .after(lifetime), fetchedAt: generation)
        }
    }

    /// A create in `directory` begins: fetches under way are not kept, and
    /// `made(_:in:since:)` learns which entries predate the create.
    func beginChange(of directory: ObjectHandle) -> Generation {
        state.withLock { state in
            state.bump(directory)
            return state.generation(of: directory)
        }
    }

    /// `made` appeared in `directory` through this mount: when it was made
    /// on the directory's own server, in one commit that stamped the
    /// directory with `made`'s change time, an entry fetched before the
    /// create began follows it; any other entry goes (it may or may not
    /// hold the create already).
    func made(_ made: ObjectAttributes, in directory: ObjectHandle, since began: Generation) {
        state.withLock { state in
            state.bump(directory)
            guard made.handle.server == directory.server, var entry = state.entries[directory], entry.fetchedAt.isBefore(began) else {
                state.entries.removeValue(forKey: directory)
                return
            }
            entry.attributes.size += 1
            if made.kind == .directory { entry.attributes.linkCount += 1 }
            entry.attributes.modifyTime = max(entry.attributes.modifyTime, made.changeTime)
            entry.attributes.changeTime = max(entry.attributes.changeTime, made.changeTime)
            state.entries[directory] = entry
        }
    }

    /// Any other change of these objects through this mount: called before
    /// it (so no fetch that overlaps it is kept) and after it, before the
    /// kernel hears the reply.
    func changed(_ handles: [ObjectHandle]) {
        state.withLock { state in
            for handle in handles {
                state.bump(handle)
                state.entries.removeValue(forKey: handle)
            }
        }
    }
}
