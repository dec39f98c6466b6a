import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

/// Names: lookup, create, mkdir, symlink, remove, rename, readdir. Files and
/// symlinks live on their parent directory's server; a directory may live
/// on another (the client places it), and an entry naming an object on
/// another server is followed by the client.
extension RequestHandler {
    func lookup(_ parent: ObjectHandle, _ name: String, _ credentials: Credentials) throws -> ObjectAttributes {
        _ = try directory(parent, credentials, write: false)
        guard let entry = try context.metadata.entry(in: parent, named: EntryName.validate(name)) else {
            throw FSError(.notFound, "\(name) does not exist in directory \(parent)")
        }
        if entry.handle.server != context.serverIndex { return remoteStub(entry) }
        guard let attributes = try context.metadata.attributes(of: entry.handle) else {
            throw FSError(.staleHandle, "\(name) in directory \(parent) names object \(entry.handle), which is gone")
        }
        return attributes
    }

    /// A file whose datafiles are all made here: stuffed (one datafile, with
    /// the metadata) or, on a one-server file system, all of them.
    func createFile(
        _ parent: ObjectHandle, _ name: String, _ mode: UInt32, _ requested: Distribution?, stuffed: Bool, _ credentials: Credentials
    ) throws -> Created {
        try makeFile(parent, name, mode, requested, credentials) { distribution in
            let count = stuffed ? 1 : distribution.datafileCount
            guard try (0..<count).allSatisfy({ try context.configuration.group(ofDatafile: $0, of: distribution) == context.serverIndex }) else {
                throw FSError(.notSupported, "server \(context.serverIndex) makes only datafiles of its own; make the others with createDatafiles")
            }
            return Array(repeating: nil, count: count)
        }
    }

    /// A file whose datafiles the client made on their servers beforehand.
    func createFile(
        _ parent: ObjectHandle, _ name: String, _ mode: UInt32, _ requested: Distribution, datafiles: [ObjectHandle], _ credentials: Credentials
    ) throws -> Created {
        try makeFile(parent, name, mode, requested, credentials) { distribution in
            try checkPlacement(datafiles, of: distribution, from: 0)
            return datafiles
        }
    }

    /// What every file creation shares: the checks, the placed distribution
    /// and one commit of the metadata, its entry and the datafile slots that
    /// `datafiles` gives (nil: made here in that commit), with the
    /// directory's version from before it.
    func makeFile(
        _ parent: ObjectHandle, _ name: String, _ mode: UInt32, _ requested: Distribution?, _ credentials: Credentials,
        datafiles: (Distribution) throws -> [ObjectHandle?]
    ) throws -> Created {
        let directory = try directory(parent, credentials, write: true)
        try EntryName.validate(name)
        let distribution = try newFileDistribution(in: directory, requested)
        let made = try makeObject(in: directory, name: name, NewObject(
            kind: .file, mode: mode & 0o7777, uid: credentials.uid, gid: newGroup(directory, credentials), time: context.now(),
            distribution: distribution, datafiles: try datafiles(distribution)))
        return Created(object: made, directoryBefore: DirectoryVersion(directory))
    }

    /// A new file's distribution in `directory`, placed here: the creator's
    /// own strips keep the directory's copy count unless they name one.
    func newFileDistribution(in directory: ObjectAttributes, _ requested: Distribution?) throws -> Distribution {
        let inherited = try requested.map { $0.copies == nil ? try $0.keeping(copies: directory.distribution?.copies) : $0 }
        return try placedDistribution(inherited ?? directory.distribution)
    }

    /// Gives a stuffed file the rest of its datafiles (made by the client);
    /// anyone who may write the file may spread it.
    func spreadFile(_ handle: ObjectHandle, _ datafiles: [ObjectHandle], _ credentials: Credentials) throws -> ObjectAttributes {
        let file = try writableFile(handle, credentials)
        guard file.isStuffed, let distribution = file.distribution else { throw FSError(.exists, "file \(handle) has all its datafiles already") }
        try checkPlacement(datafiles, of: distribution, from: file.datafiles.count)
        return try context.metadata.spread(handle, adding: datafiles, at: context.now())
    }

    func writableFile(_ handle: ObjectHandle, _ credentials: Credentials) throws -> ObjectAttributes {
        let file = try object(handle)
        guard file.kind == .file, file.distribution != nil else { throw FSError(.invalidArgument, "object \(handle) is not a file") }
        guard file.allows(2, for: credentials) else { throw FSError(.permissionDenied, "uid \(credentials.uid) may not write file \(handle)") }
        return file
    }

    /// The file system's or directory's distribution, checked against the
    /// server count and placed so that datafile 0 lives here.
    private func placedDistribution(_ requested: Distribution?) throws -> Distribution {
        let distribution = requested ?? context.configuration.defaultDistribution
        try context.configuration.check(distribution)
        return try distribution.placed(onServer: context.serverIndex)
    }

    /// Datafile `first + i` must live on the server the distribution places it on.
    private func checkPlacement(_ datafiles: [ObjectHandle], of distribution: Distribution, from first: Int) throws {
        guard first + datafiles.count == distribution.datafileCount else {
            throw FSError(.invalidArgument, "\(distribution) needs \(distribution.datafileCount - first) datafiles, not \(datafiles.count)")
        }
        for (offset, datafile) in datafiles.enumerated() {
            let expected = try context.configuration.group(ofDatafile: first + offset, of: distribution)
            guard datafile.server == expected else {
                throw FSError(.invalidArgument, "datafile \(first + offset) must live in group \(expected), not at \(datafile)")
            }
        }
    }

    func makeDirectory(_ parent: ObjectHandle, _ name: String, _ mode: UInt32, _ credentials: Credentials) throws -> ObjectAttributes {
        let directory = try directory(parent, credentials, write: true)
        try EntryName.validate(name)
        // A new directory keeps its parent's default distribution and setgid
        // bit; set-ID bits of its own it never takes (Linux's vfs_mkdir).
        let setgid = directory.mode & SetIDBits.group
        return try makeObject(in: directory, name: name, NewObject(
            kind: .directory, mode: (mode & 0o1777) | setgid, uid: credentials.uid, gid: newGroup(directory, credentials),
            time: context.now(), distribution: directory.distribution))
    }

    func symlink(_ parent: ObjectHandle, _ name: String, _ target: String, _ credentials: Credentials) throws -> ObjectAttributes {
        let directory = try directory(parent, credentials, write: true)
        try EntryName.validate(name)
        guard !target.isEmpty, target.utf8.count <= 4096, !target.utf8.contains(0) else {
            throw FSError(.invalidArgument, "a symlink target must be 1 to 4096 bytes without NUL")
        }
        return try makeObject(in: directory, name: name, NewObject(
            kind: .symlink, mode: 0o777, uid: credentials.uid, gid: newGroup(directory, credentials), time: context.now(), linkTarget: target))
    }

    /// mknod(2) of a FIFO, socket or device node; device nodes are root's
    /// to make (Linux's CAP_MKNOD).
    func makeNode(_ parent: ObjectHandle, _ name: String, _ kind: ObjectKind, _ mode: UInt32, _ rdev: UInt64, _ credentials: Credentials) throws -> ObjectAttributes {
        guard kind.isSpecial else { throw FSError(.invalidArgument, "mknod makes FIFOs, sockets and device nodes, not a \(kind)") }
        let directory = try directory(parent, credentials, write: true)
        try EntryName.validate(name)
        let isDevice = kind == .characterDevice || kind == .blockDevice
        if isDevice, !credentials.isSuperuser { throw FSError(.notPermitted, "only root may make device node \(name)") }
        return try makeObject(in: directory, name: name, NewObject(
            kind: kind, mode: mode & 0o7777, uid: credentials.uid, gid: newGroup(directory, credentials), time: context.now(),
            rdev: isDevice ? rdev : 0))
    }

    func readLink(_ handle: ObjectHandle) throws -> String {
        let link = try object(handle)
        guard link.kind == .symlink, let target = try context.metadata.linkTarget(of: handle) else {
            throw FSError(.notSymlink, "object \(handle) is not a symlink")
        }
        return target
    }

    /// The object and its entry in one transaction.
    private func makeObject(in directory: ObjectAttributes, name: String, _ new: NewObject) throws -> ObjectAttributes {
        try context.metadata.create(new, named: name, in: directory.handle)
    }

    private func newGroup(_ directory: ObjectAttributes, _ credentials: Credentials) -> UInt32 {
        directory.mode & 0o2000 != 0 ? directory.gid : credentials.gid
    }

    /// unlink or rmdir of an entry whose object lives here; a file with
    /// other hard links keeps living.
    func remove(_ parent: ObjectHandle, _ name: String, directory wantDirectory: Bool, _ credentials: Credentials) throws -> Unlinked {
        let directory = try directory(parent, credentials, write: true)
        guard let entry = try context.metadata.entry(in: parent, named: EntryName.validate(name)) else {
            throw FSError(.notFound, "\(name) does not exist in directory \(parent)")
        }
        if wantDirectory && entry.kind != .directory { throw FSError(.notDirectory, "\(name) in directory \(parent) is not a directory") }
        if !wantDirectory && entry.kind == .directory { throw FSError(.isDirectory, "\(name) in directory \(parent) is a directory: use rmdir") }
        if entry.handle.server != context.serverIndex {
            // The object's state is known only to its own server: the client removes the entry, then the object.
            throw FSError(.invalidArgument, "\(name) in directory \(parent) lives on server \(entry.handle.server.map(String.init) ?? "?"); remove it with removeEntry and removeObject")
        }
        let target = try context.metadata.attributes(of: entry.handle)
        try checkSticky(directory, entryOwner: target?.uid ?? credentials.uid, credentials)
        if entry.kind == .directory, try context.metadata.entryCount(in: entry.handle) > 0 {
            throw FSError(.notEmpty, "directory \(name) in \(parent) is not empty")
        }
        return try context.metadata.remove(named: name, in: parent, unlinking: target?.handle, at: context.now())
    }

    /// The bstreams here of a deleted file, to remove after the reply.
    func localBstreams(_ unlinked: Unlinked) -> FollowUp? {
        let here = (unlinked.deleted?.datafiles ?? []).filter { $0.server == context.serverIndex }
        return here.isEmpty ? nil : .removeBstreams(here)
    }

    /// A hard link to a file or symlink of this server. The entry is made
    /// here too when its directory lives here; otherwise the client adds it
    /// on the directory's server next (and drops the link again if it cannot).
    func link(_ handle: ObjectHandle, _ parent: ObjectHandle, _ name: String, _ credentials: Credentials) throws -> ObjectAttributes {
        try EntryName.validate(name)
        var entry: (name: String, directory: ObjectHandle)?
        if parent.server == context.serverIndex {
            entry = (name, try directory(parent, credentials, write: true).handle)
        }
        return try withLocalSize(context.metadata.link(handle, entry: entry, maximumLinks: Self.maximumLinks, at: context.now()))
    }

    /// ext4's limit.
    static let maximumLinks: UInt32 = 65_000

    /// Rename within this server: atomic in one transaction. A replaced
    /// object loses a link (nil: none was replaced here); a deleted file's
    /// datafiles are removed after the reply.
    func rename(_ fromParent: ObjectHandle, _ fromName: String, _ toParent: ObjectHandle, _ toName: String, _ credentials: Credentials) throws -> Unlinked? {
        guard toParent.server == context.serverIndex else {
            throw FSError(.crossDevice, "renaming into directory \(toParent) on server \(toParent.server.map(String.init) ?? "?") from server \(context.serverIndex) is not supported yet")
        }
        let source = try directory(fromParent, credentials, write: true)
        let destination = try directory(toParent, credentials, write: true)
        try EntryName.validate(fromName)
        try EntryName.validate(toName)
        guard let moving = try context.metadata.entry(in: fromParent, named: fromName) else {
            throw FSError(.notFound, "\(fromName) does not exist in directory \(fromParent)")
        }
        if fromParent == toParent && fromName == toName { return nil }
        let moved = try anyObject(moving.handle)
        try checkSticky(source, entryOwner: moved?.uid ?? credentials.uid, credentials)
        if moving.kind == .directory, try isDirectory(moving.handle, anAncestorOf: toParent) {
            throw FSError(.invalidArgument, "cannot move directory \(fromName) into itself")
        }
        if moving.kind == .directory, fromParent != toParent, let moved { try checkMayMoveDirectory(moved, credentials) }
        var replacedObject: ObjectAttributes?
        if let existing = try context.metadata.entry(in: toParent, named: toName) {
            if existing.handle == moving.handle { return nil }
            if moving.kind == .directory && existing.kind != .directory { throw FSError(.notDirectory, "\(toName) in \(toParent) is not a directory") }
            if moving.kind != .directory && existing.kind == .directory { throw FSError(.isDirectory, "\(toName) in \(toParent) is a directory") }
            if existing.kind == .directory, try context.metadata.entryCount(in: existing.handle) > 0 {
                throw FSError(.notEmpty, "directory \(toName) in \(toParent) is not empty")
            }
            replacedObject = try context.metadata.attributes(of: existing.handle)
            try checkSticky(destination, entryOwner: try (replacedObject ?? anyObject(existing.handle))?.uid ?? credentials.uid, credentials)
        }
        _ = try context.metadata.moveEntry(from: (fromParent, fromName), to: (toParent, toName))
        let now = context.now()
        try context.metadata.touch(fromParent, at: now)
        if toParent != fromParent { try context.metadata.touch(toParent, at: now) }
        guard let replacedObject else { return nil }
        return try context.metadata.unlink(replacedObject.handle, at: now)
    }

    /// Whether `directory` is `handle` or above it, following ".." through the
    /// entries this server holds.
    private func isDirectory(_ directory: ObjectHandle, anAncestorOf handle: ObjectHandle) throws -> Bool {
        // Without parent pointers, search downwards from `directory` (bounded by this server's objects).
        var pending = [directory]
        var seen = Set<ObjectHandle>()
        while let next = pending.popLast() {
            if next == handle { return true }
            guard seen.insert(next).inserted, next.server == context.serverIndex else { continue }
            var cursor: String?
            while true {
                let page = try context.metadata.entries(in: next, after: cursor, limit: 1000)
                pending += page.entries.filter { $0.kind == .directory }.map(\.handle)
                guard page.more else { break }
                cursor = page.entries.last?.name
            }
        }
        return false
    }

    func readDirectory(_ handle: ObjectHandle, after: String?, limit: UInt32, _ credentials: Credentials) throws -> (entries: [DirectoryEntry], more: Bool) {
        let directory = try object(handle)
        guard directory.kind == .directory else { throw FSError(.notDirectory, "object \(handle) is not a directory") }
        guard directory.allows(4, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not read directory \(handle)")
        }
        return try context.metadata.entries(in: handle, after: after, limit: Int(min(max(limit, 1), 10_000)))
    }
}
