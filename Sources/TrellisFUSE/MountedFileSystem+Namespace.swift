import Glibc
import CFuse3
import TrellisFSClient
import TrellisFSProtocol

/// Names and attributes: each is one or two requests to the servers that
/// own the directory and the object.
extension MountedFileSystem {
    /// lookup: a name this mount knows to be absent (``DirectoryNameCache``)
    /// is answered at once; a directory found confirms what this mount
    /// knows of its names, or ends it.
    func lookup(_ request: fuse_req_t, parent: UInt64, name: String) {
        if directoryNames.isAbsent(name, from: inodes.handle(of: parent)) {
            metrics.record("lookup-known-absent", nanoseconds: 0, errno: nil)
            fuse_reply_err(request, ENOENT)
            return
        }
        perform(request, "lookup", inode: parent) { fs in
            let namesFreshUntil = directoryNames.freshUntilIfConfirmedNow()
            let found = try complete(try fs.lookup(name, inDirectory: inodes.handle(of: parent)), fs)
            directoryNames.confirm(found, freshUntil: namesFreshUntil)
            replyEntry(request, found)
        }
    }

    /// getattr: a directory's from this mount's cache while fresh (the
    /// kernel asks for them again after each create, for its permission
    /// check); a directory's fetched from its server also confirms what
    /// this mount knows of its names.
    func getAttributes(_ request: fuse_req_t, inode: UInt64) {
        let handle = inodes.handle(of: inode)
        if let (attributes, seconds) = directoryAttributes.fresh(handle) {
            return replyAttributes(request, attributes, validSeconds: seconds)
        }
        perform(request, "getattr", inode: inode) { fs in
            let generation = directoryAttributes.generation(of: handle)
            let namesFreshUntil = directoryNames.freshUntilIfConfirmedNow()
            let attributes = try fs.stat(handle: handle)
            directoryAttributes.remember(attributes, fetchedAt: generation)
            directoryNames.confirm(attributes, freshUntil: namesFreshUntil)
            replyAttributes(request, attributes)
        }
    }

    func setAttributes(_ request: fuse_req_t, inode: UInt64, _ wanted: stat, _ toSet: Int32, openFile: UInt64?) {
        perform(request, "setattr", inode: inode) { fs in
            let handle = inodes.handle(of: inode)
            var changes = AttributeChanges()
            if toSet & SetAttributeBits.mode != 0 { changes.mode = wanted.st_mode & 0o7777 }
            if toSet & SetAttributeBits.uid != 0 { changes.uid = wanted.st_uid }
            if toSet & SetAttributeBits.gid != 0 { changes.gid = wanted.st_gid }
            if toSet & SetAttributeBits.accessTimeNow != 0 {
                changes.accessTime = .now
            } else if toSet & SetAttributeBits.accessTime != 0 {
                changes.accessTime = .at(Timestamp(wanted.st_atim))
            }
            if toSet & SetAttributeBits.modifyTimeNow != 0 {
                changes.modifyTime = .now
            } else if toSet & SetAttributeBits.modifyTime != 0 {
                changes.modifyTime = .at(Timestamp(wanted.st_mtim))
            }
            if changes.accessTime != nil || changes.modifyTime != nil {
                for open in openFiles.opens(of: handle) { open.file.timesWereSet() }
            }
            let changed = try changing(handle) {
                if toSet & SetAttributeBits.size != 0 {
                    guard wanted.st_size >= 0 else { throw FSError(.invalidArgument, "a negative size") }
                    try truncate(handle, to: UInt64(wanted.st_size), openFile: openFile, fs)
                    if changes.modifyTime == nil { changes.modifyTime = .now }
                }
                // The change's reply is the object after it; only a file's size may need its other datafiles' servers.
                guard changes != AttributeChanges() else { return try fs.stat(handle: handle) }
                return try complete(try fs.setAttributes(handle: handle, changes), fs)
            }
            replyAttributes(request, changed)
        }
    }

    /// truncate(2) checks write permission on the file; ftruncate(2) only that it was opened for writing.
    private func truncate(_ handle: ObjectHandle, to size: UInt64, openFile: UInt64?, _ fs: FileSystemClient) throws {
        defer { openFiles.discardReadAhead(of: handle) }
        if let openFile, let file = openFiles.get(openFile) {
            try file.file.truncate(to: size, using: fs)
            return
        }
        var attributes = try fs.stat(handle: handle)
        guard attributes.kind == .file else { throw FSError(attributes.kind == .directory ? .isDirectory : .invalidArgument, "only a file has a size to set") }
        guard attributes.allows(2, for: fs.credentials) else { throw FSError(.permissionDenied, "uid \(fs.credentials.uid) may not write object \(handle)") }
        try fs.truncate(&attributes, to: size)
    }

    func access(_ request: fuse_req_t, inode: UInt64, mask: Int32) {
        perform(request, "access", inode: inode) { fs in
            let attributes = try fs.stat(handle: inodes.handle(of: inode))
            let wanted = UInt32(mask & (R_OK | W_OK | X_OK))
            fuse_reply_err(request, wanted == 0 || attributes.allows(wanted, for: fs.credentials) ? 0 : EACCES)
        }
    }

    func makeDirectory(_ request: fuse_req_t, parent: UInt64, name: String, mode: UInt32) {
        perform(request, "mkdir", inode: parent) { fs in
            let directory = try fs.stat(handle: inodes.handle(of: parent))
            replyEntry(request, try making(in: directory.handle) { try fs.makeDirectory(named: name, in: directory, mode: mode & 0o7777) })
        }
    }

    func removeDirectory(_ request: fuse_req_t, parent: UInt64, name: String) {
        perform(request, "rmdir", inode: parent) { fs in
            let directory = inodes.handle(of: parent)
            try changing(directory) { try fs.removeDirectory(named: name, in: directory) }
            fuse_reply_err(request, 0)
        }
    }

    /// unlink. A file that this mount has open keeps its data until its last
    /// close: when this is its last name, it is renamed to a hidden name and
    /// removed at release (as libfuse's high-level API and NFS clients do).
    func unlink(_ request: fuse_req_t, parent: UInt64, name: String) {
        perform(request, "unlink", inode: parent) { fs in
            let directory = inodes.handle(of: parent)
            try changing(directory) {
                if openFiles.anyOpen, case let target = try fs.lookup(name, inDirectory: directory), target.kind == .file,
                    target.linkCount <= 1, let hidden = openFiles.hideOnUnlink(target.handle, in: directory)
                {
                    try fs.rename(named: name, in: directory, to: hidden, in: directory)
                } else {
                    try fs.removeFile(named: name, in: directory)
                }
            }
            fuse_reply_err(request, 0)
        }
    }

    func symlink(_ request: fuse_req_t, target: String, parent: UInt64, name: String) {
        perform(request, "symlink", inode: parent) { fs in
            let directory = inodes.handle(of: parent)
            replyEntry(request, try making(in: directory) { try fs.symlink(named: name, in: directory, to: target) })
        }
    }

    func readLink(_ request: fuse_req_t, inode: UInt64) {
        perform(request, "readlink", inode: inode) { fs in
            let target = try fs.readLink(of: inodes.handle(of: inode))
            fuse_reply_readlink(request, target)
        }
    }

    /// rename(2) and renameat2(2): RENAME_NOREPLACE refuses an existing
    /// name; RENAME_EXCHANGE is not supported (EINVAL, so callers fall back).
    func rename(_ request: fuse_req_t, parent: UInt64, name: String, newParent: UInt64, newName: String, flags: UInt32) {
        perform(request, "rename", inode: parent) { fs in
            let noReplace: UInt32 = 1
            let exchange: UInt32 = 2
            guard flags & exchange == 0 else { throw FSError(.invalidArgument, "RENAME_EXCHANGE is not supported") }
            guard flags & ~noReplace == 0 else { throw FSError(.invalidArgument, "rename flags \(flags) are not supported") }
            let source = inodes.handle(of: parent)
            let destination = inodes.handle(of: newParent)
            if flags & noReplace != 0 {
                do {
                    _ = try fs.lookup(newName, inDirectory: destination)
                    throw FSError(.exists, "\(newName) exists")
                } catch let error as FSError where error.code == .notFound {}
            }
            try changing(source, destination) { try fs.rename(named: name, in: source, to: newName, in: destination) }
            fuse_reply_err(request, 0)
        }
    }

    func link(_ request: fuse_req_t, inode: UInt64, newParent: UInt64, newName: String) {
        perform(request, "link", inode: inode) { fs in
            let target = try fs.stat(handle: inodes.handle(of: inode))
            let directory = inodes.handle(of: newParent)
            let linked = try changing(directory) { try fs.link(target, named: newName, in: directory) }
            replyEntry(request, try fs.stat(handle: linked.handle))
        }
    }

    /// mknod(2), mkfifo(3) and bind(2) of a UNIX socket: regular files and
    /// special files, which hold metadata only (the kernel carries a FIFO's
    /// or socket's data between processes of this host).
    func makeNode(_ request: fuse_req_t, parent: UInt64, name: String, mode: UInt32, rdev: UInt64) {
        perform(request, "mknod", inode: parent) { fs in
            let directory = inodes.handle(of: parent)
            let kind = ObjectKind(specialFileMode: mode)
            guard kind != nil || mode & S_IFMT == S_IFREG else { throw FSError(.invalidArgument, "\(name): mknod of an unknown file type") }
            guard let kind else {
                replyEntry(request, try making(file: name, in: directory) {
                    try fs.createFileSeeingDirectory(inDirectory: directory, named: name, mode: mode & 0o7777)
                })
                return
            }
            replyEntry(request, try making(in: directory) { try fs.makeNode(named: name, in: directory, kind: kind, mode: mode & 0o7777, rdev: rdev) })
        }
    }

    func statistics(_ request: fuse_req_t, inode: UInt64) {
        perform(request, "statfs", inode: inode) { fs in
            let totals = try fs.statistics()
            let block: UInt64 = 4096
            var result = statvfs()
            result.f_bsize = UInt(block)
            result.f_frsize = UInt(block)
            result.f_blocks = UInt(totals.totalBytes / block)
            result.f_bfree = UInt(totals.freeBytes / block)
            result.f_bavail = UInt(totals.freeBytes / block)
            result.f_files = UInt(totals.objectCount + totals.freeBytes / block)
            result.f_ffree = UInt(totals.freeBytes / block)
            result.f_favail = UInt(totals.freeBytes / block)
            result.f_namemax = UInt(EntryName.maximumBytes)
            fuse_reply_statfs(request, &result)
        }
    }
}
