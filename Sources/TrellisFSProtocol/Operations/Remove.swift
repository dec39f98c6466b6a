/// unlink (`directory` false) or rmdir (true) of an entry whose object lives on
/// the same server, step by step as PVFS2 does it: the data servers' datafiles
/// are the caller's to remove next.
public struct Remove: FSOperation {
    /// Code 9 on the wire, answered with ``LinksLeft``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, LinksLeft>(code: 9, idempotent: false, commits: true, \.parent, \.name, \.directory, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, directory: Bool
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, directory: Bool) { (self.parent, self.name, self.directory) = (parent, name, directory) }
}
