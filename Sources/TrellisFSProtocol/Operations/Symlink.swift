/// A symbolic link in `parent`, on the parent's server.
public struct Symlink: FSOperation {
    /// Code 7 on the wire, answered with ``ObjectAttributes``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 7, idempotent: false, commits: true, \.parent, \.name, \.target, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, target: String
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, target: String) { (self.parent, self.name, self.target) = (parent, name, target) }
}
