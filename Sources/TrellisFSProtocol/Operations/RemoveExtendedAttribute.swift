/// Removes one extended attribute.
public struct RemoveExtendedAttribute: FSOperation {
    /// Code 34 on the wire, answered with ``Done``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 34, idempotent: false, commits: true, \.handle, \.name, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, name: String
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, name: String) { (self.handle, self.name) = (handle, name) }
}
