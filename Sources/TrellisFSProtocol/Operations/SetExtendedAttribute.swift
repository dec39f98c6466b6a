import NIOCore

/// Sets one extended attribute, creating or replacing as `mode` allows.
public struct SetExtendedAttribute: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 32, idempotent: false, commits: true, \.handle, \.name, \.value, \.mode, make: Self.init)
    public var handle: ObjectHandle, name: String, value: ByteBuffer, mode: ExtendedAttributeName.SetMode
    public init(_ handle: ObjectHandle, name: String, value: ByteBuffer, mode: ExtendedAttributeName.SetMode) {
        (self.handle, self.name, self.value, self.mode) = (handle, name, value, mode)
    }
}
