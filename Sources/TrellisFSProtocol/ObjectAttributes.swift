import TrellisFSDistribution

/// What kind of object a handle names.
public enum ObjectKind: UInt8, Sendable, Hashable, Codable, CaseIterable {
    case file = 1
    case directory = 2
    case symlink = 3
    /// A piece of a file's data on one data server (PVFS2's datafile); it
    /// never appears in a directory.
    case datafile = 4
    /// Special files: metadata only. The kernel of the host that opens one
    /// carries its data (a pipe, a socket's connection) or hands it to a
    /// device driver named by the object's `rdev`, as on NFS or Lustre.
    case fifo = 5
    case socket = 6
    case characterDevice = 7
    case blockDevice = 8

    /// FIFOs, UNIX sockets and device nodes.
    public var isSpecial: Bool { self == .fifo || self == .socket || self == .characterDevice || self == .blockDevice }

    /// Kinds that any number of directory entries may name (hard links).
    public var takesHardLinks: Bool { self == .file || self == .symlink || isSpecial }
}

/// Who is asking: checked by the server that owns the object.
public struct Credentials: Sendable, Hashable, Codable {
    /// The user asking.
    public var uid: UInt32
    /// Their primary group.
    public var gid: UInt32
    /// Their supplementary groups.
    public var groups: [UInt32]

    /// A user, with their groups.
    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// Root: Linux's CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_FSETID and CAP_MKNOD at once.
    public var isSuperuser: Bool { uid == 0 }
    /// Whether `group` is their primary or a supplementary group.
    public func isMember(of group: UInt32) -> Bool { gid == group || groups.contains(group) }
}

/// A moment as seconds and nanoseconds since the epoch.
public struct Timestamp: Sendable, Hashable, Codable, Comparable {
    /// Seconds since 1970-01-01 UTC.
    public var seconds: Int64
    /// Nanoseconds past `seconds` (below 10^9).
    public var nanoseconds: UInt32

    /// Milliseconds since the epoch.
    public var milliseconds: Int64 { seconds * 1000 + Int64(nanoseconds / 1_000_000) }

    /// A moment `seconds` and `nanoseconds` after the epoch.
    public init(seconds: Int64, nanoseconds: UInt32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Earlier than.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}

/// An object's attributes as its owner keeps them. A file's `size` comes
/// from its datafiles: its owner fills it in when it holds all of them
/// (`sizeIsKnown`), otherwise the client or an aggregate stat asks the
/// data servers.
public struct ObjectAttributes: Sendable, Hashable, Codable {
    /// The object these attributes are of.
    public var handle: ObjectHandle
    /// File, directory, symlink or special file.
    public var kind: ObjectKind
    /// Permission bits (and setuid / setgid / sticky), without the type bits.
    public var mode: UInt32
    /// The owner.
    public var uid: UInt32
    /// The group.
    public var gid: UInt32
    /// When it was last read (atime).
    public var accessTime: Timestamp
    /// When its contents last changed (mtime).
    public var modifyTime: Timestamp
    /// When its attributes or entries last changed (ctime).
    public var changeTime: Timestamp
    /// How many entries name it (a directory: 2 plus its subdirectories).
    public var linkCount: UInt32
    /// Bytes: a directory's entry count, a symlink's target length, a file's
    /// logical size once the client computed it (0 from the owner).
    public var size: UInt64
    /// A file's distribution; a directory's default for new files (nil: the file system's).
    public var distribution: Distribution?
    /// A file's datafiles in distribution order. Fewer than the distribution
    /// has while the file is stuffed (all its data in the first strip).
    public var datafiles: [ObjectHandle]
    /// Whether `size` is a file's real size (always true for other kinds).
    public var sizeIsKnown: Bool
    /// A device node's device number (Linux's encoding, as in `st_rdev`); 0 for other kinds.
    public var rdev: UInt64

    /// Attributes as a server reports them.
    public init(
        handle: ObjectHandle, kind: ObjectKind, mode: UInt32, uid: UInt32, gid: UInt32, accessTime: Timestamp,
        modifyTime: Timestamp, changeTime: Timestamp, linkCount: UInt32, size: UInt64, distribution: Distribution?,
        datafiles: [ObjectHandle] = [], sizeIsKnown: Bool = true, rdev: UInt64 = 0
    ) {
        self.handle = handle
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.accessTime = accessTime
        self.modifyTime = modifyTime
        self.changeTime = changeTime
        self.linkCount = linkCount
        self.size = size
        self.distribution = distribution
        self.datafiles = datafiles
        self.sizeIsKnown = sizeIsKnown
        self.rdev = rdev
    }

    /// A file that keeps all its data in its first datafile until it grows
    /// past the first strip (OrangeFS's stuffing).
    public var isStuffed: Bool {
        guard kind == .file, let distribution else { return false }
        return datafiles.count < distribution.datafileCount
    }

    /// The bytes a stuffed file can hold: its first strip.
    public var stuffedCapacity: UInt64 { distribution?.stripSizesBytes[0] ?? 0 }

    /// Whether `credentials` may read (4), write (2) or search/execute (1), as POSIX decides.
    public func allows(_ access: UInt32, for credentials: Credentials) -> Bool {
        if credentials.isSuperuser { return access & 1 == 0 || mode & 0o111 != 0 || kind == .directory }
        let bits: UInt32
        if credentials.uid == uid {
            bits = (mode >> 6) & 7
        } else if credentials.isMember(of: gid) {
            bits = (mode >> 3) & 7
        } else {
            bits = mode & 7
        }
        return bits & access == access
    }
}

/// A time that a setattr sets: the server's present (utimensat's
/// UTIME_NOW; anyone who may write the object may set both times so, or
/// the modification time alone, as a write does) or a given moment (which
/// only the owner may set).
public enum TimeChange: Sendable, Hashable, Codable {
    case now
    case at(Timestamp)
}

/// Which attributes a setattr changes.
public struct AttributeChanges: Sendable, Hashable, Codable {
    /// New permission bits (chmod).
    public var mode: UInt32?
    /// New owner (chown).
    public var uid: UInt32?
    /// New group (chown, chgrp).
    public var gid: UInt32?
    /// New access time: now, or a given moment (utimensat).
    public var accessTime: TimeChange?
    /// New modification time: now, or a given moment (utimensat).
    public var modifyTime: TimeChange?
    /// A directory's default distribution for new files and directories in it.
    public var distribution: Distribution?

    /// The changes given; nil leaves an attribute as it is.
    public init(
        mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, accessTime: TimeChange? = nil, modifyTime: TimeChange? = nil,
        distribution: Distribution? = nil
    ) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.accessTime = accessTime
        self.modifyTime = modifyTime
        self.distribution = distribution
    }
}

/// One entry of a directory listing.
public struct DirectoryEntry: Sendable, Hashable, Codable {
    /// The entry's name in its directory.
    public var name: String
    /// The object it names.
    public var handle: ObjectHandle
    /// The kind of that object, as the entry records it.
    public var kind: ObjectKind

    /// An entry naming `handle` as `name`.
    public init(name: String, handle: ObjectHandle, kind: ObjectKind) {
        self.name = name
        self.handle = handle
        self.kind = kind
    }
}
