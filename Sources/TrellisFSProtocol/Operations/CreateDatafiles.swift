/// Empty datafile objects on the server that receives it.
public struct CreateDatafiles: FSOperation {
    /// Code 26 on the wire, answered with `[ObjectHandle]`; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, [ObjectHandle]>(code: 26, idempotent: false, commits: true, \.count, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var count: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(count: UInt32) { self.count = count }
}
