/// A page of entries with their attributes (readdirplus); entries whose objects
/// live on other servers carry only their kind (link count 0).
public struct ReadDirectoryWithAttributes: FSOperation {
    /// Code 23 on the wire, answered with `Page<DetailedEntry>`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, Page<DetailedEntry>>(code: 23, idempotent: true, commits: false, \.handle, \.after, \.limit, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, after: String?, limit: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, after: String?, limit: UInt32) { (self.handle, self.after, self.limit) = (handle, after, limit) }
}
