/// A hard link, sent to the object's owner: one more link, and the entry too
/// when `parent` lives there (one transaction); otherwise the client adds the
/// entry on the parent's server next.
public struct HardLink: FSOperation {
    /// Code 35 on the wire, answered with ``ObjectAttributes``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 35, idempotent: false, commits: true, \.handle, \.parent, \.name, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, parent: ObjectHandle, name: String
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, parent: ObjectHandle, name: String) { (self.handle, self.parent, self.name) = (handle, parent, name) }
}
