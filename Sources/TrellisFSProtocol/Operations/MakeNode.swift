/// mknod(2): a FIFO, UNIX socket or device node (`rdev`) in `parent`, metadata
/// only, on the parent's server.
public struct MakeNode: FSOperation {
    /// Code 42 on the wire, answered with ``ObjectAttributes``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 42, idempotent: false, commits: true, \.parent, \.name, \.kind, \.mode, \.rdev, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, kind: ObjectKind, mode: UInt32, rdev: UInt64
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, kind: ObjectKind, mode: UInt32, rdev: UInt64) {
        (self.parent, self.name, self.kind, self.mode, self.rdev) = (parent, name, kind, mode, rdev)
    }
}
