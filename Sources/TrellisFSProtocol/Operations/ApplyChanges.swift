import NIOCore

/// A primary's metadata changes, one commit's rows as an SQLite changeset,
/// for a secondary of its replica group to apply in the order sent.
public struct ApplyChanges: FSOperation {
    /// Code 43 on the wire, answered with ``Done``; resent after a lost connection (applying a changeset again leaves the same rows); changes the secondary's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 43, idempotent: true, commits: true, \.group, \.changeset, make: Self.init)
    /// The replica group whose copy it changes.
    public var group: UInt32
    /// The changeset's bytes.
    public var changeset: ByteBuffer
    /// The request as a primary sends it.
    public init(group: UInt32, changeset: ByteBuffer) { (self.group, self.changeset) = (group, changeset) }
}
