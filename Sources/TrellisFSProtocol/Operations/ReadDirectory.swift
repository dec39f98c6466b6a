/// Up to `limit` entries whose names sort after `after` (nil: from the start).
public struct ReadDirectory: FSOperation {
    public static let form = OperationForm<Self, Page<DirectoryEntry>>(code: 11, idempotent: true, commits: false, \.handle, \.after, \.limit, make: Self.init)
    public var handle: ObjectHandle, after: String?, limit: UInt32
    public init(_ handle: ObjectHandle, after: String?, limit: UInt32) { (self.handle, self.after, self.limit) = (handle, after, limit) }
}
