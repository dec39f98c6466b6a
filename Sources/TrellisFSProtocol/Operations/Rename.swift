/// rename(2) between two directories of one server, in one transaction; the
/// reply says how many links a replaced object has left.
public struct Rename: FSOperation {
    /// Code 10 on the wire, answered with ``Renamed``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Renamed>(code: 10, idempotent: false, commits: true, \.fromParent, \.fromName, \.toParent, \.toName, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var fromParent: ObjectHandle, fromName: String, toParent: ObjectHandle, toName: String
    /// The request as a client (or a peer server) sends it.
    public init(fromParent: ObjectHandle, fromName: String, toParent: ObjectHandle, toName: String) {
        (self.fromParent, self.fromName, self.toParent, self.toName) = (fromParent, fromName, toParent, toName)
    }
}
