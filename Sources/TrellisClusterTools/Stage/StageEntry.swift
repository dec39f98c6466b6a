import TrellisFSProtocol

/// One thing a stage puts under its destination: a directory, a file, a
/// symbolic link, or a further name of a file staged before it. The sources
/// make these (with the memberwise initializer: owner, time, size and target
/// default to zero or empty).
public struct StageEntry: Sendable, Equatable {
    /// What an entry is.
    public enum Kind: UInt8, Sendable {
        /// A directory, made before anything inside it.
        case directory = 0
        /// A regular file, whose `size` bytes come in the stream.
        case file = 1
        /// A symbolic link whose text is `target`.
        case symlink = 2
        /// Another name of the file at `target`, which comes earlier in the manifest.
        case hardLink = 3
    }

    /// Relative to the destination, "/"-separated, never empty.
    public var path: String
    /// What the entry is.
    public var kind: Kind
    /// Permission bits (07777).
    public var mode: UInt32
    /// The owner's user ID, given to the copy when running as root with `--preserve` (and by a sync).
    public var uid: UInt32 = 0
    /// The owner's group ID, given to the copy as `uid` is.
    public var gid: UInt32 = 0
    /// The modification time, given to the copy with `--preserve` (and by a sync, which compares it).
    public var modified = Timestamp(seconds: 0)
    /// Bytes of a file's data in the stream; 0 for everything else.
    public var size: Int64 = 0
    /// A symlink's text, or the path of the file a hard link names.
    public var target = ""
    /// Extended attributes (with `trellis sync -X`), by name.
    public var extendedAttributes: [ExtendedAttribute] = []
    /// A file's SHA-256 (with `trellis sync --checksum`).
    public var digest: [UInt8]?
}
/// One extended attribute of a file, directory or link, as a source reads it.
public struct ExtendedAttribute: Sendable, Equatable, Hashable {
    /// The attribute's full name, its namespace included (`user.comment`).
    public var name: String
    /// The attribute's bytes.
    public var value: [UInt8]
}
