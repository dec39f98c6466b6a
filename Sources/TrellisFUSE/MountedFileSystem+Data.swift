import Glibc
import CFuse3
import NIOCore
import TrellisFSClient
import TrellisFSProtocol

/// Open files: reads and writes go straight from the worker thread to the
/// data servers, in requests of up to 1 MiB; close (flush) makes what was
/// written durable, as the native client's close does.
extension MountedFileSystem {
    func open(_ request: fuse_req_t, inode: UInt64, _ info: UnsafeMutablePointer<fuse_file_info>) {
        perform(request, "open", inode: inode) { fs in
            let flags = info.pointee.flags
            let attributes = try fs.stat(handle: inodes.handle(of: inode))
            guard attributes.kind == .file else { throw FSError(attributes.kind == .directory ? .isDirectory : .invalidArgument, "not a regular file") }
            guard attributes.allows(Self.permission(for: flags), for: fs.credentials) else {
                throw FSError(.permissionDenied, "uid \(fs.credentials.uid) may not open object \(attributes.handle)")
            }
            let file = try opened(attributes, flags: flags, fs)
            register(file, info, fs)
            if fuse_reply_open(request, info) != 0 { _ = openFiles.remove(info.pointee.fh) }
        }
    }

    /// create(2) with O_CREAT: one request. A name that appeared since the
    /// kernel's lookup (or that this mount's names of the directory did not
    /// hold yet) is opened as it is, unless O_EXCL.
    func create(_ request: fuse_req_t, parent: UInt64, name: String, mode: UInt32, _ info: UnsafeMutablePointer<fuse_file_info>) {
        perform(request, "create", inode: parent) { fs in
            let flags = info.pointee.flags
            let directory = inodes.handle(of: parent)
            let file: MountedOpen
            do {
                let made = try making(file: name, in: directory) { try fs.createFileSeeingDirectory(inDirectory: directory, named: name, mode: mode & 0o7777) }
                file = try opened(made, flags: flags & ~O_TRUNC, fs)
            } catch let error as FSError where error.code == .exists && flags & O_EXCL == 0 {
                let found = try complete(try fs.lookup(name, inDirectory: directory), fs)
                guard found.kind == .file else { throw error }
                guard found.allows(Self.permission(for: flags), for: fs.credentials) else {
                    throw FSError(.permissionDenied, "uid \(fs.credentials.uid) may not open \(name)")
                }
                file = try opened(found, flags: flags, fs)
            }
            var entry = entry(of: file.file.attributes)
            register(file, info, fs)
            if fuse_reply_create(request, &entry, info) != 0 { _ = openFiles.remove(info.pointee.fh) }
        }
    }

    /// An open of `file` for the access `flags` ask; O_TRUNC empties it
    /// through the open, so its modification time moves as POSIX says
    /// (an empty file's too).
    private func opened(_ file: ObjectAttributes, flags: Int32, _ fs: FileSystemClient) throws -> MountedOpen {
        let (canRead, canWrite) = Self.access(of: flags)
        let access: OpenFile.Access = canRead && canWrite ? .readWrite : canWrite ? .write : .read
        let opened = try fs.open(file, path: "object \(file.handle)", access: access, sizeLifetimeSeconds: options.attributeTimeout, stampsModifyTime: true)
        if flags & O_TRUNC != 0 {
            if file.size > 0 { try opened.truncate(to: 0, evenIfReadOnly: true, using: fs) } else { opened.markModified() }
        }
        return MountedOpen(opened)
    }

    private func register(_ file: MountedOpen, _ info: UnsafeMutablePointer<fuse_file_info>, _ fs: FileSystemClient) {
        // A write-only open goes around the page cache (nothing can read or
        // map through it), so streaming writes cost no page-cache copy.
        let direct = options.directIO || file.file.access == .write
            || (!options.pageCache && KernelInitWatch.directIOCanMapShared)
        if direct, file.file.access.allowsReading, options.readAheadKiB > 0, options.attributeTimeout > 0 {
            let (pool, credentials) = (pool, fs.credentials)
            file.fetchAhead { file in
                ReadAhead(windowBytes: UInt64(options.readAheadKiB) * 1024, fetchBytes: UInt64(options.maxRequestBytes),
                          lifetime: .seconds(options.attributeTimeout), budget: readAheadBudget) { [weak file] offset, length in
                    guard let file else { return [] }
                    return try pool.with(credentials) { try file.file.readPieces(at: offset, length: length, using: $0) }
                }
            }
        }
        info.pointee.fh = openFiles.add(file)
        // Other clients may have written since: the page cache starts empty at each open.
        trellis_fuse_set_open_flags(info, 0, direct ? 1 : 0)
    }

    /// The permission an open with `flags` needs: O_TRUNC writes, whatever the access mode says.
    static func permission(for flags: Int32) -> UInt32 {
        let (canRead, canWrite) = access(of: flags)
        return (canRead ? 4 : 0) | (canWrite || flags & O_TRUNC != 0 ? 2 : 0)
    }

    static func access(of flags: Int32) -> (read: Bool, write: Bool) {
        switch flags & O_ACCMODE {
        case O_WRONLY: (false, true)
        case O_RDWR: (true, true)
        default: (true, false)
        }
    }

    func read(_ request: fuse_req_t, inode: UInt64, size: Int, offset: Int, fileNumber: UInt64) {
        perform(request, "read", inode: inode) { fs in
            let file = try opened(fileNumber)
            let pieces = try file.read(at: UInt64(offset), length: UInt64(size), fs)
            // The servers' replies go to the kernel as they came, without being joined first.
            var vectors: [iovec] = []
            vectors.reserveCapacity(pieces.count)
            withVectors(pieces[...], &vectors) { _ = fuse_reply_iov(request, $0, Int32($0.count)) }
        }
    }

    func write(_ request: fuse_req_t, inode: UInt64, bytes: UnsafeRawBufferPointer, offset: Int, fileNumber: UInt64) {
        perform(request, "write", inode: inode) { fs in
            let file = try opened(fileNumber)
            let written = try file.file.write(bytes: bytes, at: UInt64(offset), using: fs)
            openFiles.discardReadAhead(of: file.handle)
            fuse_reply_write(request, Int(written))
        }
    }

    /// close(2) of one descriptor: its errors are close's.
    func flush(_ request: fuse_req_t, inode: UInt64, fileNumber: UInt64) {
        perform(request, "flush", inode: inode) { fs in
            try opened(fileNumber).file.flushForClose(using: fs)
            fuse_reply_err(request, 0)
        }
    }

    func fsync(_ request: fuse_req_t, inode: UInt64, fileNumber: UInt64) {
        perform(request, "fsync", inode: inode) { fs in
            try opened(fileNumber).file.sync(always: true, using: fs)
            fuse_reply_err(request, 0)
        }
    }

    /// The last close of an open: a file unlinked while open goes now.
    func release(_ request: fuse_req_t, inode: UInt64, fileNumber: UInt64) {
        perform(request, "release", inode: inode) { fs in
            guard let (file, hiddenAt) = openFiles.remove(fileNumber) else { throw FSError(.invalidArgument, "no open file \(fileNumber)") }
            try? file.file.close(using: fs)
            if let hiddenAt { try changing(hiddenAt.directory) { try fs.removeFile(named: hiddenAt.name, in: hiddenAt.directory) } }
            fuse_reply_err(request, 0)
        }
    }

    /// Calls `body` with an iovec for each buffer, valid while it runs.
    private func withVectors(_ buffers: ArraySlice<ByteBuffer>, _ vectors: inout [iovec], _ body: ([iovec]) -> Void) {
        guard let first = buffers.first else { return body(vectors) }
        first.withUnsafeReadableBytes { bytes in
            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count))
            withVectors(buffers.dropFirst(), &vectors, body)
        }
    }

    private func opened(_ number: UInt64) throws -> MountedOpen {
        guard let file = openFiles.get(number) else { throw FSError(.invalidArgument, "no open file \(number)") }
        return file
    }
}
