import TrellisFSDistribution
import TrellisFSProtocol

/// Names: every call takes an absolute path within the file system.
extension FileSystemClient {
    /// The attributes of what `path` names (a file's size computed from its
    /// datafiles). Symlinks inside the path are followed; the last one is
    /// followed only when `followLast`.
    public func stat(_ path: String, followLast: Bool = true) throws -> ObjectAttributes {
        var attributes = try resolve(path, followLast: followLast)
        if attributes.kind == .file { attributes.size = try size(of: attributes) }
        return attributes
    }

    /// An object's attributes by handle, a file's size included: one
    /// request (the owner gathers the datafiles' sizes itself).
    public func stat(handle: ObjectHandle) throws -> ObjectAttributes {
        try call(owner: handle, Stat(handle))
    }

    /// The object `path` names; a file's size only when its own server
    /// could give it (`sizeIsKnown`).
    public func lookup(_ path: String, followLast: Bool = true) throws -> ObjectAttributes {
        try resolve(path, followLast: followLast)
    }

    /// The object `name` names in a directory already looked up: one
    /// request (as a kernel mount asks, with the directory in its cache);
    /// a file's size when its owner could give it (`sizeIsKnown`).
    public func lookup(_ name: String, in directory: ObjectAttributes) throws -> ObjectAttributes {
        try lookup(name, inDirectory: directory.handle)
    }

    /// The attributes of the object `name` names in `directory` (one request to the directory's server).
    public func lookup(_ name: String, inDirectory directory: ObjectHandle) throws -> ObjectAttributes {
        let found = try call(owner: directory, Lookup(parent: directory, name: name))
        // An entry that names an object on another server carries only its kind.
        return found.linkCount == 0 ? try attributes(of: found.handle) : found
    }

    /// The object `path` names, without a file's size.
    func resolve(_ path: String, followLast: Bool = true, hops: Int = 0) throws -> ObjectAttributes {
        guard hops < 40 else { throw FSError(.tooManyLinks, "\(path): too many levels of symbolic links") }
        let names = try EntryName.components(ofAbsolute: path)
        var current = try attributes(of: configuration.rootHandle)
        for (position, name) in names.enumerated() {
            guard current.kind == .directory else { throw FSError(.notDirectory, "\(path): a component before \(name) is not a directory") }
            let next = try lookup(name, in: current)
            let isLast = position == names.count - 1
            if next.kind == .symlink && (!isLast || followLast) {
                let target = try readLink(of: next.handle)
                let base = "/" + names[..<position].joined(separator: "/")
                let rest = names[(position + 1)...].joined(separator: "/")
                let joined = (target.hasPrefix("/") ? target : base + "/" + target) + (rest.isEmpty ? "" : "/" + rest)
                return try resolve(normalize(joined), followLast: followLast, hops: hops + 1)
            }
            current = next
        }
        return current
    }

    /// Resolves `.` and `..` lexically (a symlink target may hold them).
    private func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    func attributes(of handle: ObjectHandle) throws -> ObjectAttributes {
        try call(owner: handle, GetAttributes(handle))
    }

    /// The directory that would hold `path`, and the last name.
    func parent(of path: String) throws -> (directory: ObjectAttributes, name: String) {
        let names = try EntryName.components(ofAbsolute: path)
        guard let name = names.last else { throw FSError(.exists, "/ is the root directory") }
        let directory = try resolve("/" + names.dropLast().joined(separator: "/"))
        guard directory.kind == .directory else { throw FSError(.notDirectory, "\(path): the parent is not a directory") }
        return (directory, name)
    }

    /// Makes a directory on the server its name hashes to, so directories,
    /// and the files in them, spread over all servers. On the parent's own
    /// server it is one atomic request; elsewhere the object is made first
    /// and its entry second (a failed entry takes the object back).
    @discardableResult
    public func makeDirectory(_ path: String, mode: UInt32 = 0o755) throws -> ObjectAttributes {
        let (directory, name) = try parent(of: path)
        return try makeDirectory(named: name, in: directory, mode: mode)
    }

    /// mkdir of `name` in a directory already looked up.
    @discardableResult
    public func makeDirectory(named name: String, in directory: ObjectAttributes, mode: UInt32 = 0o755) throws -> ObjectAttributes {
        let home = placement(of: name, in: directory.handle)
        if home == directory.handle.server {
            return try call(owner: directory.handle, MakeDirectory(parent: directory.handle, name: name, mode: mode))
        }
        try EntryName.validate(name)
        guard directory.allows(3, for: credentials) else {
            throw FSError(.permissionDenied, "\(name): uid \(credentials.uid) may not change the parent directory")
        }
        // As on the parent's server: a setgid parent passes on its group and the bit (POSIX).
        let setgid = directory.mode & 0o2000
        var creator = credentials
        if setgid != 0 { creator.gid = directory.gid }
        let made = try call(server: home, CreateDirectoryObject(mode: (mode & 0o1777) | setgid, distribution: directory.distribution), as: creator)
        do {
            _ = try call(owner: directory.handle, AddEntry(parent: directory.handle, name: name, handle: made.handle, kind: .directory))
        } catch {
            _ = try? call(server: home, RemoveObject(made.handle))
            throw error
        }
        return made
    }

    /// The server a new directory goes to: a stable hash of its parent and name.
    func placement(of name: String, in parent: ObjectHandle) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(parent.rawValue)/\(name)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(configuration.serverCount))
    }

    /// mkdir -p: every missing directory on the way; existing ones are fine.
    @discardableResult
    public func makeDirectories(_ path: String, mode: UInt32 = 0o755) throws -> ObjectAttributes {
        var made = try attributes(of: configuration.rootHandle)
        var sofar = ""
        for name in try EntryName.components(ofAbsolute: path) {
            sofar += "/" + name
            do {
                made = try makeDirectory(sofar, mode: mode)
            } catch let error as FSError where error.code == .exists {
                made = try resolve(sofar)
                guard made.kind == .directory else { throw FSError(.notDirectory, "\(sofar) exists and is not a directory") }
            }
        }
        return made
    }

    /// A new, empty file. Stuffed (the default), it is one request and
    /// its one datafile lives with its metadata until it grows past a strip;
    /// otherwise all its datafiles are made at once.
    @discardableResult
    public func createFile(_ path: String, mode: UInt32 = 0o644, distribution: Distribution? = nil, stuffed: Bool = true) throws -> ObjectAttributes {
        let (directory, name) = try parent(of: path)
        return try createFile(in: directory, named: name, mode: mode, distribution: distribution, stuffed: stuffed)
    }

    /// createFile in a directory already looked up.
    @discardableResult
    public func createFile(
        in directory: ObjectAttributes, named name: String, mode: UInt32 = 0o644, distribution: Distribution? = nil, stuffed: Bool = true
    ) throws -> ObjectAttributes {
        try createFile(inDirectory: directory.handle, named: name, mode: mode, distribution: distribution, stuffed: stuffed)
    }

    /// A create: one request to the directory's server, which makes an
    /// unstuffed file's datafiles on their servers before it answers.
    @discardableResult
    public func createFile(
        inDirectory directory: ObjectHandle, named name: String, mode: UInt32 = 0o644, distribution: Distribution? = nil, stuffed: Bool = true
    ) throws -> ObjectAttributes {
        try createFileSeeingDirectory(inDirectory: directory, named: name, mode: mode, distribution: distribution, stuffed: stuffed).object
    }

    /// createFile, with the directory's version from just before the create
    /// (for a client that keeps what it knows of the directory's names).
    public func createFileSeeingDirectory(
        inDirectory directory: ObjectHandle, named name: String, mode: UInt32 = 0o644, distribution: Distribution? = nil, stuffed: Bool = true
    ) throws -> Created {
        try call(owner: directory, CreateFile(parent: directory, name: name, mode: mode, distribution: distribution, stuffed: stuffed))
    }

    /// Makes a symbolic link at `path` holding `target` as written.
    @discardableResult
    public func symlink(_ path: String, to target: String) throws -> ObjectAttributes {
        let (directory, name) = try parent(of: path)
        return try symlink(named: name, in: directory.handle, to: target)
    }

    /// Makes a symbolic link `name` in a directory already looked up.
    @discardableResult
    public func symlink(named name: String, in directory: ObjectHandle, to target: String) throws -> ObjectAttributes {
        try call(owner: directory, Symlink(parent: directory, name: name, target: target))
    }

    /// mknod(2): a FIFO, UNIX socket or device node (`rdev`, root only).
    /// It holds metadata only: whoever opens it on a mount gets a pipe, a
    /// socket or a device of that host's kernel.
    @discardableResult
    public func makeNode(_ path: String, kind: ObjectKind, mode: UInt32 = 0o644, rdev: UInt64 = 0) throws -> ObjectAttributes {
        let (directory, name) = try parent(of: path)
        return try makeNode(named: name, in: directory.handle, kind: kind, mode: mode, rdev: rdev)
    }

    /// Makes a FIFO, a UNIX socket or a device node (`rdev` its device number), as mknod(2).
    @discardableResult
    public func makeNode(named name: String, in directory: ObjectHandle, kind: ObjectKind, mode: UInt32 = 0o644, rdev: UInt64 = 0) throws -> ObjectAttributes {
        try call(owner: directory, MakeNode(parent: directory, name: name, kind: kind, mode: mode, rdev: rdev))
    }

    /// The target a symbolic link at `path` holds.
    public func readLink(_ path: String) throws -> String {
        let link = try resolve(path, followLast: false)
        return try readLink(of: link.handle)
    }

    /// The target of a symbolic link already looked up.
    public func readLink(of handle: ObjectHandle) throws -> String {
        try call(owner: handle, ReadLink(handle))
    }

    /// unlink: the entry and metadata go first, then every datafile. An
    /// entry on another server than its object (after a rename across
    /// servers) is removed first, then the object.
    public func removeFile(_ path: String) throws {
        let (directory, name) = try parent(of: path)
        let target = try resolve(path, followLast: false)
        guard target.kind != .directory else { throw FSError(.isDirectory, "\(path) is a directory: use rmdir") }
        try removeFile(target, named: name, in: directory.handle)
    }

    /// unlink of `name` in a directory already looked up: with aggregate
    /// operations one request when the object lives with its entry (as
    /// files do unless renamed or linked across servers).
    public func removeFile(named name: String, in directory: ObjectHandle) throws {
        // An object on another server than its entry is removed step by step, below.
        if case .removed = try call(owner: directory, RemoveFile(parent: directory, name: name)) { return }
        let target = try lookup(name, inDirectory: directory)
        guard target.kind != .directory else { throw FSError(.isDirectory, "\(name) in directory \(directory) is a directory: use rmdir") }
        try removeFile(target, named: name, in: directory)
    }

    /// unlink of an entry already looked up: one request when the object
    /// lives with its entry (the owner removes every datafile before it
    /// answers); otherwise the entry, then the object on its own server,
    /// then the datafiles that server does not hold.
    public func removeFile(_ target: ObjectAttributes, named name: String, in directory: ObjectHandle) throws {
        if target.handle.server == directory.server, case .removed = try call(owner: directory, RemoveFile(parent: directory, name: name)) {
            return
        }
        _ = try call(owner: directory, RemoveEntry(parent: directory, name: name, handle: target.handle, owner: target.uid))
        try removeRemoteDatafiles(of: target, ifGone: try call(owner: target.handle, RemoveObject(target.handle)))
    }

    /// A hard link: `path` becomes one more name of what `existing` names
    /// (a symlink itself, as link(2) does), in any directory of the file
    /// system. The object's owner counts the link first; when the new
    /// directory lives elsewhere its entry follows, and a failure there
    /// drops the link again.
    @discardableResult
    public func link(_ path: String, to existing: String) throws -> ObjectAttributes {
        let target = try resolve(existing, followLast: false)
        guard target.kind != .directory else { throw FSError(.notPermitted, "\(existing) is a directory: directories take no hard links") }
        let (directory, name) = try parent(of: path)
        return try link(target, named: name, in: directory.handle)
    }

    /// link of an object already looked up as `name` in `directory`.
    @discardableResult
    public func link(_ target: ObjectAttributes, named name: String, in directory: ObjectHandle) throws -> ObjectAttributes {
        guard target.kind != .directory else { throw FSError(.notPermitted, "object \(target.handle) is a directory: directories take no hard links") }
        let linked = try call(owner: target.handle, HardLink(target.handle, parent: directory, name: name))
        guard directory.server != target.handle.server else { return linked }
        do {
            _ = try call(owner: directory, AddEntry(parent: directory, name: name, handle: target.handle, kind: target.kind))
        } catch {
            _ = try? call(owner: target.handle, RemoveObject(target.handle))
            throw error
        }
        return linked
    }

    /// rmdir. A directory on another server than its parent: its entry
    /// goes first, then the object; if the object turns out not to be empty
    /// (a race with a create), the entry is put back.
    public func removeDirectory(_ path: String) throws {
        let (directory, name) = try parent(of: path)
        try removeDirectory(named: name, in: directory.handle)
    }

    /// rmdir of `name` in a directory already looked up.
    public func removeDirectory(named name: String, in directory: ObjectHandle) throws {
        let target = try lookup(name, inDirectory: directory)
        guard target.kind == .directory else { throw FSError(.notDirectory, "\(name) is not a directory") }
        if target.handle.server == directory.server {
            _ = try call(owner: directory, Remove(parent: directory, name: name, directory: true))
            return
        }
        guard try isEmptyDirectory(target.handle) else {
            throw FSError(.notEmpty, "directory \(name) is not empty")
        }
        _ = try call(owner: directory, RemoveEntry(parent: directory, name: name, handle: target.handle, owner: target.uid))
        do {
            _ = try call(owner: target.handle, RemoveObject(target.handle))
        } catch let error as FSError where error.code == .notEmpty {
            _ = try? call(owner: directory, AddEntry(parent: directory, name: name, handle: target.handle, kind: .directory))
            throw FSError(.notEmpty, "directory \(name) is not empty")
        }
    }

    /// Renames: atomic when both directories are on one server. Across
    /// servers the new entry is added first and the old one removed second,
    /// so the object is never without a name (for a moment it has two).
    public func rename(_ from: String, to: String) throws {
        let (source, fromName) = try parent(of: from)
        let (destination, toName) = try parent(of: to)
        let fromPath = "/" + (try EntryName.components(ofAbsolute: from)).joined(separator: "/")
        let toPath = "/" + (try EntryName.components(ofAbsolute: to)).joined(separator: "/")
        if toPath.hasPrefix(fromPath + "/") { throw FSError(.invalidArgument, "cannot move \(from) into itself (\(to))") }
        try rename(named: fromName, in: source.handle, to: toName, in: destination.handle)
    }

    /// rename between directories already looked up. The caller (the kernel,
    /// for a mount) has made sure a directory is not moved into itself.
    public func rename(named fromName: String, in source: ObjectHandle, to toName: String, in destination: ObjectHandle) throws {
        let replaced = try? lookup(toName, inDirectory: destination)
        if source.server == destination.server {
            // The server checks the sticky bits and, for a directory moving to
            // another parent, write permission on it (its ".." changes),
            // asking other servers for objects that live there.
            // A directory being replaced may live elsewhere: only its own server knows it is empty.
            if let replaced, replaced.kind == .directory, replaced.handle.server != destination.server, try !isEmptyDirectory(replaced.handle) {
                throw FSError(.notEmpty, "directory \(toName) is not empty")
            }
            let renamed = try call(owner: source, Rename(fromParent: source, fromName: fromName, toParent: destination, toName: toName))
            guard let replaced else { return }
            var left = renamed.replaced
            if replaced.handle.server != destination.server {
                guard let dropped = try? call(owner: replaced.handle, RemoveObject(replaced.handle)) else { return }
                left = dropped
            }
            if let left { try removeRemoteDatafiles(of: replaced, ifGone: left) }
            return
        }
        let moving = try lookup(fromName, inDirectory: source)
        // No one server sees both directories here: the moved directory's ".." changes, which takes write permission on it.
        if moving.kind == .directory, !moving.allows(2, for: credentials) {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not write directory \(fromName), so may not move it to another parent")
        }
        if let replaced {
            if replaced.handle == moving.handle { return }
            if moving.kind == .directory && replaced.kind != .directory { throw FSError(.notDirectory, "\(toName) is not a directory") }
            if moving.kind != .directory && replaced.kind == .directory { throw FSError(.isDirectory, "\(toName) is a directory") }
            if replaced.kind == .directory, replaced.handle.server != destination.server, try !isEmptyDirectory(replaced.handle) {
                throw FSError(.notEmpty, "directory \(toName) is not empty")
            }
        }
        // The destination name switches in one step, so it never vanishes (POSIX); then the old name goes.
        _ = try call(owner: destination, ReplaceEntry(parent: destination, name: toName, handle: moving.handle, kind: moving.kind))
        do {
            _ = try call(owner: source, RemoveEntry(parent: source, name: fromName, handle: moving.handle, owner: moving.uid))
        } catch {
            // The old name could not go (permissions, sticky): put the destination back as it was.
            if let replaced {
                _ = try? call(owner: destination, ReplaceEntry(parent: destination, name: toName, handle: replaced.handle, kind: replaced.kind))
            } else {
                _ = try? call(owner: destination, RemoveEntry(parent: destination, name: toName, handle: moving.handle, owner: moving.uid))
            }
            throw error
        }
        if let replaced, let left = try? call(owner: replaced.handle, RemoveObject(replaced.handle)) {
            try removeRemoteDatafiles(of: replaced, ifGone: left)
        }
    }

    /// A directory's entries, fetched a page at a time so huge directories stream.
    public func list(_ path: String, pageSize: UInt32 = 1000, _ body: ([DirectoryEntry]) throws -> Void) throws {
        try pages(of: path, read: { try readDirectory($0, after: $1, limit: pageSize) }, name: \.name, body)
    }

    /// Every page of the directory at `path`, in order: `read` fetches the page
    /// after a name, and each page's last entry's `name` is where the next starts.
    private func pages<Entry>(
        of path: String, read: (ObjectHandle, _ after: String?) throws -> (entries: [Entry], more: Bool), name: (Entry) -> String,
        _ body: ([Entry]) throws -> Void
    ) throws {
        let directory = try resolve(path)
        guard directory.kind == .directory else { throw FSError(.notDirectory, "\(path) is not a directory") }
        var after: String?
        repeat {
            let (entries, more) = try read(directory.handle, after)
            try body(entries)
            after = more ? entries.last.map(name) : nil
        } while after != nil
    }

    /// One page of a directory's entries after the name `after`, and whether more follow.
    public func readDirectory(_ directory: ObjectHandle, after: String?, limit: UInt32) throws -> (entries: [DirectoryEntry], more: Bool) {
        let page = try call(owner: directory, ReadDirectory(directory, after: after, limit: limit))
        return (page.entries, page.more)
    }

    /// Asked of the directory's own server, the only one that knows.
    func isEmptyDirectory(_ directory: ObjectHandle) throws -> Bool {
        try readDirectory(directory, after: nil, limit: 1).entries.isEmpty
    }

    /// A directory's entries with their attributes (readdirplus), a page at a
    /// time: remote objects' attributes and files' sizes are fetched for the
    /// whole page at once.
    public func listWithAttributes(_ path: String, pageSize: UInt32 = 500, _ body: ([DetailedEntry]) throws -> Void) throws {
        try pages(of: path, read: { try readDirectoryWithAttributes($0, after: $1, limit: pageSize) }, name: \.name, body)
    }

    /// One page of readdirplus: entries after the name `after` with their
    /// attributes and files' sizes, and whether more follow.
    public func readDirectoryWithAttributes(_ directory: ObjectHandle, after: String?, limit: UInt32) throws -> (entries: [DetailedEntry], more: Bool) {
        let page = try call(owner: directory, ReadDirectoryWithAttributes(directory, after: after, limit: limit))
        var entries = page.entries
        let more = page.more
        let remote = entries.indices.filter { entries[$0].attributes.linkCount == 0 }
        for (index, reply) in zip(remote, try callAll(remote.map { (entries[$0].attributes.handle.server ?? 0, GetAttributes(entries[$0].attributes.handle)) })) {
            entries[index].attributes = reply
        }
        try fillSizes(&entries)
        return (entries, more)
    }

    /// Every entry of a directory, in name order (it pages through a large one).
    public func list(_ path: String) throws -> [DirectoryEntry] {
        var all: [DirectoryEntry] = []
        try list(path) { all += $0 }
        return all
    }

    /// Changes mode, owner or times of the object at `path`, as chmod, chown and utimensat; the attributes after.
    @discardableResult
    public func setAttributes(_ path: String, _ changes: AttributeChanges) throws -> ObjectAttributes {
        let target = try resolve(path)
        return try setAttributes(handle: target.handle, changes)
    }

    /// Changes mode, owner or times of an object already looked up; the attributes after.
    @discardableResult
    public func setAttributes(handle: ObjectHandle, _ changes: AttributeChanges) throws -> ObjectAttributes {
        try call(owner: handle, SetAttributes(handle, changes))
    }

    /// Space and objects summed over every server (each one's disk once: a
    /// data group's primary shares its disk with a metadata group's).
    public func statistics() throws -> FSStatistics {
        var total = FSStatistics(totalBytes: 0, freeBytes: 0, objectCount: 0)
        for one in try callAll(configuration.metadataGroups.map { ($0, StatFileSystem()) }) {
            total.totalBytes += one.totalBytes
            total.freeBytes += one.freeBytes
            total.objectCount += one.objectCount
        }
        return total
    }
}

extension FileSystemClient {
    /// Asks one server for its statistics: whether it answers at all.
    public func ping(server index: Int) throws {
        guard servers.indices.contains(index) else { throw FSError(.invalidArgument, "no server \(index)") }
        _ = try call(server: index, StatFileSystem())
    }
}
