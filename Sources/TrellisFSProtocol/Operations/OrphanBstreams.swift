/// Bstreams without a datafile object, last changed at least `graceSeconds`
/// ago; removed too when `remove` (fsck; uid 0 only).
public struct OrphanBstreams: FSOperation {
    /// Code 38 on the wire, answered with `[ObjectHandle]`; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, [ObjectHandle]>(code: 38, idempotent: true, commits: true, \.graceSeconds, \.remove, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var graceSeconds: UInt32, remove: Bool
    /// The request as a client (or a peer server) sends it.
    public init(graceSeconds: UInt32, remove: Bool) { (self.graceSeconds, self.remove) = (graceSeconds, remove) }
}
