/// One directory entry with the directory that holds it, as a server-wide
/// scan returns it (fsck counts references from these).
public struct EntryRecord: Sendable, Hashable, WireCodable {
    public var directory: ObjectHandle
    public var entry: DirectoryEntry

    public init(directory: ObjectHandle, entry: DirectoryEntry) {
        self.directory = directory
        self.entry = entry
    }

    public func encode(into writer: inout WireWriter) {
        writer.write(directory)
        writer.write(entry)
    }
    public init(from reader: inout WireReader) throws {
        self.init(directory: try reader.read(), entry: try reader.read())
    }
}

/// Where a server-wide scan of entries goes on from: after this entry.
public struct EntryCursor: Sendable, Hashable, WireCodable {
    public var directory: ObjectHandle
    public var name: String

    public init(directory: ObjectHandle, name: String) {
        self.directory = directory
        self.name = name
    }

    public func encode(into writer: inout WireWriter) {
        writer.write(directory)
        writer.write(name)
    }
    public init(from reader: inout WireReader) throws {
        self.init(directory: try reader.read(), name: try reader.readString())
    }
}
