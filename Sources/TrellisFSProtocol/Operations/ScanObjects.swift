/// A page of this server's objects, datafiles included, by handle (fsck; uid 0
/// only).
public struct ScanObjects: FSOperation {
    public static let form = OperationForm<Self, Page<ObjectAttributes>>(code: 36, idempotent: true, commits: false, \.after, \.limit, make: Self.init)
    public var after: ObjectHandle?, limit: UInt32
    public init(after: ObjectHandle?, limit: UInt32) { (self.after, self.limit) = (after, limit) }
}
