/// chmod, chown, utimens and a directory's default distribution, with POSIX's
/// rules on who may change what.
public struct SetAttributes: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 4, idempotent: true, commits: true, \.handle, \.changes, make: Self.init)
    public var handle: ObjectHandle, changes: AttributeChanges
    public init(_ handle: ObjectHandle, _ changes: AttributeChanges) { (self.handle, self.changes) = (handle, changes) }
}
