/// Sets an object's link count to what fsck counted (uid 0 only).
public struct SetLinkCount: FSOperation {
    /// Code 39 on the wire, answered with ``ObjectAttributes``; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 39, idempotent: true, commits: true, \.handle, \.count, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, count: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, count: UInt32) { (self.handle, self.count) = (handle, count) }
}
