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

    /// An object's attributes by handle, a file's size included: one request
    /// with aggregate operations, else its attributes and then its sizes.
    public func stat(handle: ObjectHandle) throws -> ObjectAttributes {
        if aggregateOperations { return try attributes(reply: call(owner: handle, .stat(handle)), "object \(handle)") }
        var found = try attributes(of: handle)
        if found.kind == .file { found.size = try size(of: found) }
        return found
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
        let found = try attributes(reply: call(owner: directory.handle, .lookup(parent: directory.handle, name: name)), name)
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
        try attributes(reply: call(owner: handle, .getAttributes(handle)), "object \(handle)")
    }

    func attributes(reply: FSReply, _ what: String) throws -> ObjectAttributes {
        guard case .attributes(let attributes) = reply else { throw FSError(.protocolViolation, "\(what): expected attributes, got \(reply)") }
        return attributes
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
        let home = placement(of: name, in: directory.handle)
        if home == directory.handle.server {
            return try attributes(reply: call(owner: directory.handle, .makeDirectory(parent: directory.handle, name: name, mode: mode)), path)
        }
        try EntryName.validate(name)
        guard directory.allows(3, for: credentials) else {
            throw FSError(.permissionDenied, "\(path): uid \(credentials.uid) may not change the parent directory")
        }
        let made = try attributes(reply: call(server: home, .createDirectoryObject(mode: mode, distribution: directory.distribution)), path)
        do {
            _ = try call(owner: directory.handle, .addEntry(parent: directory.handle, name: name, handle: made.handle, kind: .directory))
        } catch {
            _ = try? call(server: home, .removeObject(made.handle))
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
        return Int(hash % UInt64(servers.count))
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
        if stuffed || servers.count == 1 || aggregateOperations {
            return try attributes(reply: call(owner: directory.handle, .createFile(
                parent: directory.handle, name: name, mode: mode, distribution: distribution, stuffed: stuffed)), name)
        }
        return try createFileWithOwnDatafiles(directory, name, mode: mode, distribution: distribution, name)
    }

    /// PVFS2's create without server help: the client makes each datafile on
    /// its server, then the owner records the file and its entry.
    func createFileWithOwnDatafiles(_ directory: ObjectAttributes, _ name: String, mode: UInt32, distribution requested: Distribution?, _ path: String) throws -> ObjectAttributes {
        let owner = directory.handle.server ?? 0
        let distribution = try (requested ?? directory.distribution ?? configuration.defaultDistribution).placed(onServer: owner)
        let made = try makeDatafiles((0..<distribution.datafileCount).map { distribution.server(ofDatafile: $0, serverCount: servers.count) })
        do {
            return try attributes(reply: call(owner: directory.handle, .createFileWithDatafiles(
                parent: directory.handle, name: name, mode: mode, distribution: distribution, datafiles: made)), path)
        } catch {
            try? removeDatafiles(made)
            throw error
        }
    }

    @discardableResult
    public func symlink(_ path: String, to target: String) throws -> ObjectAttributes {
        let (directory, name) = try parent(of: path)
        return try attributes(reply: call(owner: directory.handle, .symlink(parent: directory.handle, name: name, target: target)), path)
    }

    public func readLink(_ path: String) throws -> String {
        let link = try resolve(path, followLast: false)
        return try readLink(of: link.handle)
    }

    func readLink(of handle: ObjectHandle) throws -> String {
        guard case .linkTarget(let target) = try call(owner: handle, .readLink(handle)) else {
            throw FSError(.protocolViolation, "readlink of \(handle) answered without a target")
        }
        return target
    }

    /// unlink: the entry and metadata go first, then every datafile. An
    /// entry on another server than its object (after a rename across
    /// servers) is removed first, then the object.
    public func removeFile(_ path: String) throws {
        let (directory, name) = try parent(of: path)
        let target = try resolve(path, followLast: false)
        guard target.kind != .directory else { throw FSError(.isDirectory, "\(path) is a directory: use rmdir") }
        try removeFile(target, named: name, in: directory)
    }

    /// unlink of `name` in a directory already looked up: with aggregate
    /// operations one request when the object lives with its entry (as
    /// files do unless renamed or linked across servers).
    public func removeFile(named name: String, in directory: ObjectAttributes) throws {
        if aggregateOperations {
            do {
                _ = try call(owner: directory.handle, .removeFile(parent: directory.handle, name: name))
                return
            } catch let error as FSError where error.code == .invalidArgument {
                // The object lives on another server: step by step, below.
            }
        }
        let target = try lookup(name, in: directory)
        guard target.kind != .directory else { throw FSError(.isDirectory, "\(name) in directory \(directory.handle) is a directory: use rmdir") }
        try removeFile(target, named: name, in: directory)
    }

    /// unlink of an entry already looked up: with aggregate operations one
    /// request (the owner removes every datafile before it answers).
    public func removeFile(_ target: ObjectAttributes, named name: String, in directory: ObjectAttributes) throws {
        if target.handle.server == directory.handle.server, aggregateOperations {
            _ = try call(owner: directory.handle, .removeFile(parent: directory.handle, name: name))
            return
        }
        let reply: FSReply
        if target.handle.server == directory.handle.server {
            reply = try call(owner: directory.handle, .remove(parent: directory.handle, name: name, directory: false))
        } else {
            _ = try call(owner: directory.handle, .removeEntry(parent: directory.handle, name: name, handle: target.handle, owner: target.uid))
            reply = try call(owner: target.handle, .removeObject(target.handle))
        }
        try removeRemoteDatafiles(of: target, ifGone: reply)
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
        let linked = try attributes(reply: call(owner: target.handle, .link(target.handle, parent: directory.handle, name: name)), path)
        guard directory.handle.server != target.handle.server else { return linked }
        do {
            _ = try call(owner: directory.handle, .addEntry(parent: directory.handle, name: name, handle: target.handle, kind: target.kind))
        } catch {
            _ = try? call(owner: target.handle, .removeObject(target.handle))
            throw error
        }
        return linked
    }

    /// rmdir. A directory on another server than its parent: its entry
    /// goes first, then the object; if the object turns out not to be empty
    /// (a race with a create), the entry is put back.
    public func removeDirectory(_ path: String) throws {
        let (directory, name) = try parent(of: path)
        let target = try resolve(path, followLast: false)
        guard target.kind == .directory else { throw FSError(.notDirectory, "\(path) is not a directory") }
        if target.handle.server == directory.handle.server {
            _ = try call(owner: directory.handle, .remove(parent: directory.handle, name: name, directory: true))
            return
        }
        guard case .entries(let entries, _) = try call(owner: target.handle, .readDirectory(target.handle, after: nil, limit: 1)), entries.isEmpty else {
            throw FSError(.notEmpty, "directory \(path) is not empty")
        }
        _ = try call(owner: directory.handle, .removeEntry(parent: directory.handle, name: name, handle: target.handle, owner: target.uid))
        do {
            _ = try call(owner: target.handle, .removeObject(target.handle))
        } catch let error as FSError where error.code == .notEmpty {
            _ = try? call(owner: directory.handle, .addEntry(parent: directory.handle, name: name, handle: target.handle, kind: .directory))
            throw FSError(.notEmpty, "directory \(path) is not empty")
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
        let replaced = try? resolve(to, followLast: false)
        if source.handle.server == destination.handle.server {
            // A directory being replaced may live elsewhere: only its own server knows it is empty.
            if let replaced, replaced.kind == .directory, replaced.handle.server != destination.handle.server,
                case .entries(let entries, _) = try call(owner: replaced.handle, .readDirectory(replaced.handle, after: nil, limit: 1)), !entries.isEmpty
            {
                throw FSError(.notEmpty, "directory \(to) is not empty")
            }
            var reply = try call(owner: source.handle, .rename(fromParent: source.handle, fromName: fromName, toParent: destination.handle, toName: toName))
            guard let replaced else { return }
            if replaced.handle.server != destination.handle.server {
                guard let dropped = try? call(owner: replaced.handle, .removeObject(replaced.handle)) else { return }
                reply = dropped
            }
            try removeRemoteDatafiles(of: replaced, ifGone: reply)
            return
        }
        let moving = try resolve(from, followLast: false)
        if let replaced {
            if replaced.handle == moving.handle { return }
            if moving.kind == .directory && replaced.kind != .directory { throw FSError(.notDirectory, "\(to) is not a directory") }
            if moving.kind != .directory && replaced.kind == .directory { throw FSError(.isDirectory, "\(to) is a directory") }
            if replaced.kind == .directory, replaced.handle.server != destination.handle.server,
                case .entries(let entries, _) = try call(owner: replaced.handle, .readDirectory(replaced.handle, after: nil, limit: 1)), !entries.isEmpty
            {
                throw FSError(.notEmpty, "directory \(to) is not empty")
            }
        }
        // The destination name switches in one step, so it never vanishes (POSIX); then the old name goes.
        _ = try call(owner: destination.handle, .replaceEntry(parent: destination.handle, name: toName, handle: moving.handle, kind: moving.kind))
        do {
            _ = try call(owner: source.handle, .removeEntry(parent: source.handle, name: fromName, handle: moving.handle, owner: moving.uid))
        } catch {
            // The old name could not go (permissions, sticky): put the destination back as it was.
            if let replaced {
                _ = try? call(owner: destination.handle, .replaceEntry(parent: destination.handle, name: toName, handle: replaced.handle, kind: replaced.kind))
            } else {
                _ = try? call(owner: destination.handle, .removeEntry(parent: destination.handle, name: toName, handle: moving.handle, owner: moving.uid))
            }
            throw error
        }
        if let replaced, let reply = try? call(owner: replaced.handle, .removeObject(replaced.handle)) {
            try removeRemoteDatafiles(of: replaced, ifGone: reply)
        }
    }

    /// A directory's entries, fetched a page at a time so huge directories stream.
    public func list(_ path: String, pageSize: UInt32 = 1000, _ body: ([DirectoryEntry]) throws -> Void) throws {
        let directory = try resolve(path)
        guard directory.kind == .directory else { throw FSError(.notDirectory, "\(path) is not a directory") }
        var after: String?
        repeat {
            guard case .entries(let entries, let more) = try call(owner: directory.handle, .readDirectory(directory.handle, after: after, limit: pageSize)) else {
                throw FSError(.protocolViolation, "readdir of \(path) answered without entries")
            }
            try body(entries)
            after = more ? entries.last?.name : nil
        } while after != nil
    }

    /// A directory's entries with their attributes (readdirplus), a page at a
    /// time: remote objects' attributes and files' sizes are fetched for the
    /// whole page at once.
    public func listWithAttributes(_ path: String, pageSize: UInt32 = 500, _ body: ([DetailedEntry]) throws -> Void) throws {
        let directory = try resolve(path)
        guard directory.kind == .directory else { throw FSError(.notDirectory, "\(path) is not a directory") }
        var after: String?
        repeat {
            guard case .detailedEntries(var entries, let more) = try call(owner: directory.handle, .readDirectoryWithAttributes(directory.handle, after: after, limit: pageSize)) else {
                throw FSError(.protocolViolation, "readdir of \(path) answered without entries")
            }
            let remote = entries.indices.filter { entries[$0].attributes.linkCount == 0 }
            for (index, reply) in zip(remote, try callAll(remote.map { (entries[$0].attributes.handle.server ?? 0, .getAttributes(entries[$0].attributes.handle)) })) {
                entries[index].attributes = try attributes(reply: reply, "\(path)/\(entries[index].name)")
            }
            try fillSizes(&entries)
            try body(entries)
            after = more ? entries.last?.name : nil
        } while after != nil
    }

    public func list(_ path: String) throws -> [DirectoryEntry] {
        var all: [DirectoryEntry] = []
        try list(path) { all += $0 }
        return all
    }

    @discardableResult
    public func setAttributes(_ path: String, _ changes: AttributeChanges) throws -> ObjectAttributes {
        let target = try resolve(path)
        return try attributes(reply: call(owner: target.handle, .setAttributes(target.handle, changes)), path)
    }

    /// Space and objects summed over every server.
    public func statistics() throws -> FSStatistics {
        var total = FSStatistics(totalBytes: 0, freeBytes: 0, objectCount: 0)
        for reply in try callAll(servers.indices.map { ($0, .statFileSystem) }) {
            guard case .statistics(let one) = reply else { throw FSError(.protocolViolation, "statfs answered with \(reply)") }
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
        _ = try call(server: index, .statFileSystem)
    }
}
