/// Bstreams without a datafile object, last changed at least `graceSeconds`
/// ago; removed too when `remove` (fsck; uid 0 only).
public struct OrphanBstreams: FSOperation {
    public static let form = OperationForm<Self, [ObjectHandle]>(code: 38, idempotent: true, commits: true, \.graceSeconds, \.remove, make: Self.init)
    public var graceSeconds: UInt32, remove: Bool
    public init(graceSeconds: UInt32, remove: Bool) { (self.graceSeconds, self.remove) = (graceSeconds, remove) }
}
