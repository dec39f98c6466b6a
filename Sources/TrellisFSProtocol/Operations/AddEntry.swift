/// An entry naming an object that may live on another server.
public struct AddEntry: FSOperation {
    /// Code 20 on the wire, answered with ``Done``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 20, idempotent: false, commits: true, \.parent, \.name, \.handle, \.kind, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind) { (self.parent, self.name, self.handle, self.kind) = (parent, name, handle, kind) }
}
