/// chmod, chown, utimens and a directory's default distribution, with POSIX's
/// rules on who may change what.
public struct SetAttributes: FSOperation {
    /// Code 4 on the wire, answered with ``ObjectAttributes``; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 4, idempotent: true, commits: true, \.handle, \.changes, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, changes: AttributeChanges
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, _ changes: AttributeChanges) { (self.handle, self.changes) = (handle, changes) }
}
