/// One directory entry with the directory that holds it, as a server-wide
/// scan returns it (fsck counts references from these).
public struct EntryRecord: Sendable, Hashable, WireRecord {
    public var directory: ObjectHandle
    public var entry: DirectoryEntry

    public init(directory: ObjectHandle, entry: DirectoryEntry) {
        self.directory = directory
        self.entry = entry
    }

    public static let wireForm = WireForm<Self>(\.directory, \.entry, make: Self.init)
}

/// Where a server-wide scan of entries goes on from: after this entry.
public struct EntryCursor: Sendable, Hashable, WireRecord {
    public var directory: ObjectHandle
    public var name: String

    public init(directory: ObjectHandle, name: String) {
        self.directory = directory
        self.name = name
    }

    public static let wireForm = WireForm<Self>(\.directory, \.name, make: Self.init)
}
