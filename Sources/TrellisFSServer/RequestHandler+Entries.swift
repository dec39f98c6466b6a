import TrellisFSProtocol
import TrellisFSStorage

/// The pieces of operations that span two servers, which the client runs
/// in order (PVFS2's crdirent / rmdirent): an object made on one server, its
/// entry added on its parent's; an entry removed, then its object.
extension RequestHandler {
    func addEntry(_ parent: ObjectHandle, _ name: String, _ handle: ObjectHandle, _ kind: ObjectKind, _ credentials: Credentials) throws {
        let directory = try directory(parent, credentials, write: true)
        try EntryName.validate(name)
        guard handle.server != nil else { throw FSError(.invalidArgument, "handle \(handle) names no server") }
        if try context.metadata.entry(in: parent, named: name) != nil {
            throw FSError(.exists, "\(name) exists in directory \(parent)")
        }
        try context.metadata.addEntry(DirectoryEntry(name: name, handle: handle, kind: kind), in: directory.handle)
        try context.metadata.touch(parent, at: context.now())
    }

    /// The destination half of a rename across servers: the name switches to
    /// `handle` in one transaction. What it named before is left for the
    /// client to delete once the old name is gone (or to put back if not).
    func replaceEntry(_ parent: ObjectHandle, _ name: String, _ handle: ObjectHandle, _ kind: ObjectKind, _ credentials: Credentials) throws {
        let directory = try directory(parent, credentials, write: true)
        try EntryName.validate(name)
        if let existing = try context.metadata.entry(in: parent, named: name) {
            if existing.handle == handle { return }
            if kind == .directory && existing.kind != .directory { throw FSError(.notDirectory, "\(name) in \(parent) is not a directory") }
            if kind != .directory && existing.kind == .directory { throw FSError(.isDirectory, "\(name) in \(parent) is a directory") }
            let replaced = try context.metadata.attributes(of: existing.handle)
            if let replaced, replaced.kind == .directory, try context.metadata.entryCount(in: replaced.handle) > 0 {
                throw FSError(.notEmpty, "directory \(name) in \(parent) is not empty")
            }
            try checkSticky(directory, entryOwner: try (replaced ?? anyObject(existing.handle))?.uid ?? credentials.uid, credentials)
        }
        _ = try context.metadata.replaceEntry(DirectoryEntry(name: name, handle: handle, kind: kind), in: parent)
        try context.metadata.touch(parent, at: context.now())
    }

    func removeEntry(_ parent: ObjectHandle, _ name: String, _ handle: ObjectHandle, owner: UInt32, _ credentials: Credentials) throws {
        let directory = try directory(parent, credentials, write: true)
        guard let entry = try context.metadata.entry(in: parent, named: EntryName.validate(name)), entry.handle == handle else {
            throw FSError(.notFound, "\(name) in directory \(parent) does not name object \(handle) (any more)")
        }
        try checkSticky(directory, entryOwner: owner, credentials)
        try context.metadata.removeEntry(named: name, in: parent)
        try context.metadata.touch(parent, at: context.now())
    }

    /// The object half of an unlink whose entry lived on another server:
    /// one link fewer, deleted at the last (a directory only when empty).
    func removeObject(_ handle: ObjectHandle) throws -> Unlinked {
        let target = try object(handle)
        if target.kind == .directory, try context.metadata.entryCount(in: handle) > 0 {
            throw FSError(.notEmpty, "directory \(handle) is not empty")
        }
        return try context.metadata.unlink(handle, at: context.now())
    }
}
