/// A page of this server's directory entries, by directory and name (fsck; uid
/// 0 only).
public struct ScanEntries: FSOperation {
    public static let form = OperationForm<Self, Page<EntryRecord>>(code: 37, idempotent: true, commits: false, \.after, \.limit, make: Self.init)
    public var after: EntryCursor?, limit: UInt32
    public init(after: EntryCursor?, limit: UInt32) { (self.after, self.limit) = (after, limit) }
}
