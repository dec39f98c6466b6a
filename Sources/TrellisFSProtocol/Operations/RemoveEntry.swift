/// Removes only the entry, and only if it still names `handle`; `owner` is the
/// object's uid as its server reported it (for sticky directories).
public struct RemoveEntry: FSOperation {
    /// Code 21 on the wire, answered with ``Done``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 21, idempotent: false, commits: true, \.parent, \.name, \.handle, \.owner, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, handle: ObjectHandle, owner: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, handle: ObjectHandle, owner: UInt32) { (self.parent, self.name, self.handle, self.owner) = (parent, name, handle, owner) }
}
