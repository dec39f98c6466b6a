/// The datafiles of other servers this server holds in its precreate pool,
/// which fsck counts as referenced (uid 0 only).
public struct PooledDatafiles: FSOperation {
    public static let form = OperationForm<Self, [ObjectHandle]>(code: 41, idempotent: true, commits: false, make: Self.init)
    public init() {}
}
