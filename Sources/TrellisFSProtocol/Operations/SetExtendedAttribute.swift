import NIOCore

/// Sets one extended attribute, creating or replacing as `mode` allows.
public struct SetExtendedAttribute: FSOperation {
    /// Code 32 on the wire, answered with ``Done``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 32, idempotent: false, commits: true, \.handle, \.name, \.value, \.mode, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, name: String, value: ByteBuffer, mode: ExtendedAttributeName.SetMode
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, name: String, value: ByteBuffer, mode: ExtendedAttributeName.SetMode) {
        (self.handle, self.name, self.value, self.mode) = (handle, name, value, mode)
    }
}
