/// Sets an object's link count to what fsck counted (uid 0 only).
public struct SetLinkCount: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 39, idempotent: true, commits: true, \.handle, \.count, make: Self.init)
    public var handle: ObjectHandle, count: UInt32
    public init(_ handle: ObjectHandle, count: UInt32) { (self.handle, self.count) = (handle, count) }
}
