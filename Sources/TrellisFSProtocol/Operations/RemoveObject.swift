/// Deletes an object whose entry went (a directory only when empty; a file's
/// datafiles on this server go with it).
public struct RemoveObject: FSOperation {
    /// Code 22 on the wire, answered with ``LinksLeft``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, LinksLeft>(code: 22, idempotent: false, commits: true, \.handle, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
