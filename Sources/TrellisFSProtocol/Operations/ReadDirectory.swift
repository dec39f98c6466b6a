/// Up to `limit` entries whose names sort after `after` (nil: from the start).
public struct ReadDirectory: FSOperation {
    /// Code 11 on the wire, answered with `Page<DirectoryEntry>`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, Page<DirectoryEntry>>(code: 11, idempotent: true, commits: false, \.handle, \.after, \.limit, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, after: String?, limit: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, after: String?, limit: UInt32) { (self.handle, self.after, self.limit) = (handle, after, limit) }
}
