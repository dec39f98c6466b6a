/// mkdir on the parent's own server: the object and its entry in one
/// transaction.
public struct MakeDirectory: FSOperation {
    /// Code 6 on the wire, answered with ``ObjectAttributes``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 6, idempotent: false, commits: true, \.parent, \.name, \.mode, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, mode: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, mode: UInt32) { (self.parent, self.name, self.mode) = (parent, name, mode) }
}
