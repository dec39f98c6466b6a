/// mknod(2): a FIFO, UNIX socket or device node (`rdev`) in `parent`, metadata
/// only, on the parent's server.
public struct MakeNode: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 42, idempotent: false, commits: true, \.parent, \.name, \.kind, \.mode, \.rdev, make: Self.init)
    public var parent: ObjectHandle, name: String, kind: ObjectKind, mode: UInt32, rdev: UInt64
    public init(parent: ObjectHandle, name: String, kind: ObjectKind, mode: UInt32, rdev: UInt64) {
        (self.parent, self.name, self.kind, self.mode, self.rdev) = (parent, name, kind, mode, rdev)
    }
}
