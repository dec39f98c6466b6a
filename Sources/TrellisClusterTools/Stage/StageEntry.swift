/// One thing a stage puts under its destination: a directory, a file, a
/// symbolic link, or a further name of a file staged before it.
public struct StageEntry: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case directory = 0
        case file = 1
        case symlink = 2
        /// Another name of the file at `target`, which comes earlier in the manifest.
        case hardLink = 3
    }

    /// Relative to the destination, "/"-separated, never empty.
    public var path: String
    public var kind: Kind
    /// Permission bits (07777).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var modified: FileTime
    /// Bytes of a file's data in the stream; 0 for everything else.
    public var size: Int64
    /// A symlink's text, or the path of the file a hard link names.
    public var target: String
    /// Extended attributes (with `trellis sync -X`), by name.
    public var extendedAttributes: [ExtendedAttribute] = []
    /// A file's SHA-256 (with `trellis sync --checksum`).
    public var digest: [UInt8]?

    public init(
        path: String, kind: Kind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, modified: FileTime = FileTime(seconds: 0, nanoseconds: 0),
        size: Int64 = 0, target: String = ""
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.modified = modified
        self.size = size
        self.target = target
    }
}

/// A modification time to the nanosecond, as stat and utimensat carry it.
public struct FileTime: Sendable, Equatable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// One extended attribute of a file, directory or link.
public struct ExtendedAttribute: Sendable, Equatable, Hashable {
    public var name: String
    public var value: [UInt8]

    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}
