import Synchronization
import TrellisCore
import TrellisFSProtocol

/// Every name of some directories, as this mount knows them in full, so
/// that a lookup of any other name is answered "absent" without asking the
/// directory's server.
///
/// Why: the kernel looks up each new name before it creates it, and that
/// lookup (a round trip that finds nothing) was a third of what a create
/// cost through the mount. Programs that make many files (tar, git
/// checkout, mdtest, an application's output) make them in directories
/// they have just made.
///
/// A directory is known in full from the moment this mount made it (empty,
/// at the version its reply gives). It stays known through this mount's
/// own file creates in it as long as each create's reply shows the
/// directory as this mount last knew it: its version just before the
/// create (change time and entry count, as NFSv3's weak cache consistency
/// data lets an NFS client check that only its own change happened), and
/// whenever the mount fetches the directory's attributes and finds that
/// version (the kernel looks the directory up again, or asks for its
/// attributes, once its own copies are `entry_timeout` and `attr_timeout`
/// old). Any other change of the directory through this
/// mount, or a reply or fetch that shows someone else's change, forgets it;
/// knowledge not confirmed for `lifetime` is not used until it is again.
/// So a name that another client made is answered absent for at most
/// `lifetime` after this mount last heard the directory's state from its
/// server: what a negative dentry with that timeout allows (libfuse's
/// `negative_timeout`). A create of such a name still fails or opens the
/// existing file, as the server decides.
final class DirectoryNameCache: Sendable {
    private struct Known {
        var names: Set<String>
        var version: DirectoryVersion
        var freshUntil: Deadline
    }

    private let known = Mutex<[ObjectHandle: Known]>([:])
    private let lifetime: Duration

    /// Directories known at once; past it, the expired go, then all.
    static let capacity = 1024
    /// Names known per directory; a directory that grows past it is looked
    /// up name by name again (what this cache holds stays small).
    static let namesPerDirectory = 65_536

    /// A cache whose knowledge lasts `lifetimeSeconds` from each
    /// confirmation (0: it keeps nothing, every lookup asks).
    init(lifetimeSeconds: Double) {
        lifetime = .nanoseconds(Int64(lifetimeSeconds * 1e9))
    }

    /// Whether `name` is surely absent from `directory`: the directory is
    /// known in full, freshly, without it.
    func isAbsent(_ name: String, from directory: ObjectHandle) -> Bool {
        known.withLock { known in
            guard let entry = known[directory], !entry.freshUntil.hasPassed else { return false }
            return !entry.names.contains(name)
        }
    }

    /// When knowledge confirmed now would stop being used: taken before a
    /// fetch of a directory's attributes begins, for `confirm`.
    func freshUntilIfConfirmedNow() -> Deadline { .after(lifetime) }

    /// The mount fetched an object's attributes (the fetch began when
    /// `freshUntil` was taken): when it is a directory, the names known of
    /// it are all it holds if it is still at the version they were known at.
    func confirm(_ directory: ObjectAttributes, freshUntil: Deadline) {
        guard directory.kind == .directory else { return }
        known.withLock { known in
            guard var entry = known[directory.handle] else { return }
            guard entry.version == DirectoryVersion(directory) else {
                known.removeValue(forKey: directory.handle)
                return
            }
            entry.freshUntil = max(entry.freshUntil, freshUntil)
            known[directory.handle] = entry
        }
    }

    /// This mount made `directory`: empty, at its version in the reply.
    func madeEmpty(_ directory: ObjectAttributes) {
        guard directory.kind == .directory, directory.size == 0, lifetime > .zero else { return }
        known.withLock { known in
            if known.count >= Self.capacity {
                known = known.filter { !$0.value.freshUntil.hasPassed }
                if known.count >= Self.capacity { known.removeAll() }
            }
            known[directory.handle] = Known(names: [], version: DirectoryVersion(directory), freshUntil: .after(lifetime))
        }
    }

    /// This mount made `name` in `directory`: kept, with the directory
    /// known afresh, when the directory was as this cache knew it just
    /// before; otherwise the directory is forgotten.
    func created(_ name: String, in directory: ObjectHandle, _ created: Created) {
        known.withLock { known in
            guard let index = known.index(forKey: directory) else { return }
            guard known.values[index].version == created.directoryBefore, known.values[index].names.count < Self.namesPerDirectory else {
                known.remove(at: index)
                return
            }
            // In place: a copy of the entry taken out and put back would copy its set of names on every create.
            known.values[index].names.insert(name)
            // The create stamped the directory with the new object's own change time, in the same commit.
            known.values[index].version = DirectoryVersion(changeTime: created.object.changeTime, entries: created.directoryBefore.entries + 1)
            known.values[index].freshUntil = .after(lifetime)
        }
    }

    /// Any other change of these directories through this mount, or a
    /// create that failed: what was known of their names goes.
    func forget(_ directories: [ObjectHandle]) {
        known.withLock { known in
            for directory in directories { known.removeValue(forKey: directory) }
        }
    }
}
