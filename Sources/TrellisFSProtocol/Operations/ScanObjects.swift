/// A page of this server's objects, datafiles included, by handle (fsck; uid 0
/// only).
public struct ScanObjects: FSOperation {
    /// Code 36 on the wire, answered with `Page<ObjectAttributes>`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, Page<ObjectAttributes>>(code: 36, idempotent: true, commits: false, \.after, \.limit, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var after: ObjectHandle?, limit: UInt32
    /// The request as a client (or a peer server) sends it.
    public init(after: ObjectHandle?, limit: UInt32) { (self.after, self.limit) = (after, limit) }
}
