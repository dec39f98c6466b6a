import Glibc
import CFuse3
import TrellisFSClient
import TrellisFSProtocol

/// Attributes as the kernel takes them: stat structures and entries with
/// the mount's cache timeouts.
extension MountedFileSystem {
    func stat(of attributes: ObjectAttributes) -> stat {
        var result = Glibc.stat()
        result.st_ino = UInt(inodes.inode(of: attributes.handle))
        result.st_mode = attributes.kind.fileTypeBits | (attributes.mode & 0o7777)
        // A file unlinked while open hides under another name until its last close: its name is not one of its links.
        result.st_nlink = openFiles.isHidden(attributes.handle) ? UInt(max(attributes.linkCount, 1) - 1) : UInt(max(attributes.linkCount, 1))
        result.st_rdev = UInt(attributes.rdev)
        result.st_uid = attributes.uid
        result.st_gid = attributes.gid
        result.st_size = Int(clamping: attributes.size)
        result.st_blksize = Int(attributes.distribution.map { Int($0.stripSizesBytes[0]) } ?? 4096)
        result.st_blocks = Int(clamping: (attributes.size + 511) / 512)
        result.st_atim = timespec(attributes.accessTime)
        let written = openFiles.pendingModifyTime(of: attributes.handle)
        result.st_mtim = timespec(max(attributes.modifyTime, written ?? attributes.modifyTime))
        result.st_ctim = timespec(max(attributes.changeTime, written ?? attributes.changeTime))
        return result
    }

    func entry(of attributes: ObjectAttributes) -> fuse_entry_param {
        var entry = fuse_entry_param()
        entry.ino = inodes.inode(of: attributes.handle)
        entry.generation = 0
        entry.attr = stat(of: attributes)
        entry.attr_timeout = options.attributeTimeout
        entry.entry_timeout = options.entryTimeout
        return entry
    }

    /// An object's attributes with a file's size, which only its data servers may know.
    func complete(_ attributes: ObjectAttributes, _ fs: FileSystemClient) throws -> ObjectAttributes {
        guard attributes.kind == .file, !attributes.sizeIsKnown else { return attributes }
        return try fs.stat(handle: attributes.handle)
    }

    func replyEntry(_ request: fuse_req_t, _ attributes: ObjectAttributes) {
        var entry = entry(of: attributes)
        fuse_reply_entry(request, &entry)
    }

    func replyAttributes(_ request: fuse_req_t, _ attributes: ObjectAttributes, validSeconds: Double? = nil) {
        var result = stat(of: attributes)
        fuse_reply_attr(request, &result, validSeconds ?? options.attributeTimeout)
    }

    private func timespec(_ time: Timestamp) -> Glibc.timespec {
        Glibc.timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))
    }
}

/// The bits of setattr's `to_set` (fuse_lowlevel.h).
enum SetAttributeBits {
    static let mode: Int32 = 1 << 0
    static let uid: Int32 = 1 << 1
    static let gid: Int32 = 1 << 2
    static let size: Int32 = 1 << 3
    static let accessTime: Int32 = 1 << 4
    static let modifyTime: Int32 = 1 << 5
    static let accessTimeNow: Int32 = 1 << 7
    static let modifyTimeNow: Int32 = 1 << 8
}
