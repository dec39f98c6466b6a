/// A page of this server's directory entries, by directory and name (fsck; uid
/// 0 only).
public struct ScanEntries: FSOperation {
    /// Code 37 on the wire, answered with `Page<EntryRecord>`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, Page<EntryRecord>>(code: 37, idempotent: true, commits: false, \.after, \.limit, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var after: EntryCursor?, limit: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(after: EntryCursor?, limit: UInt32) { (self.after, self.limit) = (after, limit) }
}
