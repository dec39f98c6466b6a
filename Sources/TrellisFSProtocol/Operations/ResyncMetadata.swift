import NIOCore

/// One piece of a primary's metadata snapshot (an SQLite database file),
/// for a copy under full resync: the copy gathers the pieces and, with the
/// last, replaces every replicated row of its own with the snapshot's.
public struct ResyncMetadata: FSOperation {
    /// Code 49 on the wire, answered with ``Done``; resent after a lost connection (a piece written again at its offset leaves the same file); changes the copy's metadata.
    public static let form = OperationForm<Self, Done>(code: 49, idempotent: true, commits: false, \.group, \.offset, \.total, \.bytes, make: Self.init)
    /// The replica group.
    public var group: UInt32
    /// Where the piece starts in the snapshot.
    public var offset: UInt64
    /// The snapshot's size: the piece that reaches it is the last.
    public var total: UInt64
    /// The piece.
    public var bytes: ByteBuffer
    /// The request as a primary sends it.
    public init(group: UInt32, offset: UInt64, total: UInt64, bytes: ByteBuffer) {
        (self.group, self.offset, self.total, self.bytes) = (group, offset, total, bytes)
    }
}
