/// An object's extended attribute names.
public struct ListExtendedAttributes: FSOperation {
    /// Code 33 on the wire, answered with `[String]`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, [String]>(code: 33, idempotent: true, commits: false, \.handle, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
