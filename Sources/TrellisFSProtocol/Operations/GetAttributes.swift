/// An object's attributes (a file's size only when its datafiles all live with
/// it).
public struct GetAttributes: FSOperation {
    /// Code 3 on the wire, answered with ``ObjectAttributes``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 3, idempotent: true, commits: false, \.handle, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
