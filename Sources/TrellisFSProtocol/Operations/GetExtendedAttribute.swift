import NIOCore

/// One extended attribute's value (the `user.` namespace).
public struct GetExtendedAttribute: FSOperation {
    /// Code 31 on the wire, answered with `ByteBuffer`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, ByteBuffer>(code: 31, idempotent: true, commits: false, \.handle, \.name, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle, name: String
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle, name: String) { (self.handle, self.name) = (handle, name) }
}
