/// One directory entry with the directory that holds it, as a server-wide
/// scan returns it (fsck counts references from these).
public struct EntryRecord: Sendable, Hashable, WireRecord {
    /// The directory that holds the entry.
    public var directory: ObjectHandle
    /// The entry.
    public var entry: DirectoryEntry

    /// An entry of `directory`.
    public init(directory: ObjectHandle, entry: DirectoryEntry) {
        self.directory = directory
        self.entry = entry
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.directory, \.entry, make: Self.init)
}

/// Where a server-wide scan of entries goes on from: after this entry.
public struct EntryCursor: Sendable, Hashable, WireRecord {
    /// The directory of the last entry seen.
    public var directory: ObjectHandle
    /// The name of the last entry seen.
    public var name: String

    /// A cursor after `name` in `directory`.
    public init(directory: ObjectHandle, name: String) {
        self.directory = directory
        self.name = name
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.directory, \.name, make: Self.init)
}
