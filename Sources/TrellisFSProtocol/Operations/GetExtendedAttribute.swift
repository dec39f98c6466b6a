import NIOCore

/// One extended attribute's value (the `user.` namespace).
public struct GetExtendedAttribute: FSOperation {
    public static let form = OperationForm<Self, ByteBuffer>(code: 31, idempotent: true, commits: false, \.handle, \.name, make: Self.init)
    public var handle: ObjectHandle, name: String
    public init(_ handle: ObjectHandle, name: String) { (self.handle, self.name) = (handle, name) }
}
