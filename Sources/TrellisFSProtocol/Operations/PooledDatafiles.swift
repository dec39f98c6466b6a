/// The datafiles of other servers this server holds in its precreate pool,
/// which fsck counts as referenced (uid 0 only).
public struct PooledDatafiles: FSOperation {
    /// Code 41 on the wire, answered with `[ObjectHandle]`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, [ObjectHandle]>(code: 41, idempotent: true, commits: false, make: Self.init)
    /// The request as a client (or a peer server) sends it.
    public init() {}
}
