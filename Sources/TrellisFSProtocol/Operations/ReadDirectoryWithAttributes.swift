/// A page of entries with their attributes (readdirplus); entries whose objects
/// live on other servers carry only their kind (link count 0).
public struct ReadDirectoryWithAttributes: FSOperation {
    public static let form = OperationForm<Self, Page<DetailedEntry>>(code: 23, idempotent: true, commits: false, \.handle, \.after, \.limit, make: Self.init)
    public var handle: ObjectHandle, after: String?, limit: UInt32
    public init(_ handle: ObjectHandle, after: String?, limit: UInt32) { (self.handle, self.after, self.limit) = (handle, after, limit) }
}
