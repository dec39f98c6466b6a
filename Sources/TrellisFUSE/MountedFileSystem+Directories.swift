import Glibc
import CFuse3
import TrellisFSClient
import TrellisFSProtocol

/// Listings: readdir, and readdirplus, which brings each entry's attributes
/// with its name (one round trip per page of 500), so `ls -l` and `find`
/// need no lookup per name.
extension MountedFileSystem {
    func openDirectory(_ request: fuse_req_t, inode: UInt64, _ info: UnsafeMutablePointer<fuse_file_info>) {
        perform(request, "opendir", inode: inode) { fs in
            let handle = inodes.handle(of: inode)
            let directory = try fs.stat(handle: handle)
            guard directory.kind == .directory else { throw FSError(.notDirectory, "object \(handle) is not a directory") }
            guard directory.allows(4, for: fs.credentials) else { throw FSError(.permissionDenied, "uid \(fs.credentials.uid) may not list object \(handle)") }
            info.pointee.fh = directoryStreams.add(DirectoryStream(directory: handle, withAttributes: options.readdirPlus))
            if fuse_reply_open(request, info) != 0 { directoryStreams.remove(info.pointee.fh) }
        }
    }

    func readDirectory(_ request: fuse_req_t, inode: UInt64, size: Int, offset: Int, fileNumber: UInt64, plus: Bool) {
        perform(request, plus ? "readdirplus" : "readdir", inode: inode) { fs in
            guard let stream = directoryStreams.get(fileNumber) else { throw FSError(.invalidArgument, "no open directory \(fileNumber)") }
            // An entry takes at least 24 bytes (plus: 152), so this many fill the buffer.
            let wanted = size / (plus ? 152 : 24) + 1
            let entries = try stream.entries(from: offset, wanted: wanted, fs)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
            defer { buffer.deallocate() }
            var used = 0
            for (position, item) in zip(entries.indices, entries) {
                let next = position + 1
                if openFiles.isHiddenName(item.name) { continue }
                let room = size - used
                let taken: Int
                if plus {
                    var entry = fuse_entry_param()
                    if let attributes = item.attributes, item.name != ".", item.name != ".." {
                        entry = self.entry(of: attributes)
                    } else {
                        entry.attr.st_ino = UInt(inodes.inode(of: item.handle))
                        entry.attr.st_mode = S_IFDIR
                    }
                    taken = fuse_add_direntry_plus(request, buffer.advanced(by: used).assumingMemoryBound(to: CChar.self), room, item.name, &entry, off_t(next))
                } else {
                    var attributes = Glibc.stat()
                    attributes.st_ino = UInt(inodes.inode(of: item.handle))
                    attributes.st_mode = item.kind.fileTypeBits
                    taken = fuse_add_direntry(request, buffer.advanced(by: used).assumingMemoryBound(to: CChar.self), room, item.name, &attributes, off_t(next))
                }
                if taken > room { break }
                used += taken
            }
            fuse_reply_buf(request, buffer.assumingMemoryBound(to: CChar.self), used)
        }
    }

    func releaseDirectory(_ request: fuse_req_t, fileNumber: UInt64) {
        directoryStreams.remove(fileNumber)
        fuse_reply_err(request, 0)
    }
}
