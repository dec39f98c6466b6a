/// Attributes with the file's size, which the owner gathers from the data
/// servers itself: one request from the client (Fig. 3 of the
/// persistent-services paper, Latham, Ross and Thakur, "Can MPI Be Used for
/// Persistent Parallel Services?").
public struct Stat: FSOperation {
    /// Code 29 on the wire, answered with ``ObjectAttributes``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 29, idempotent: true, commits: false, \.handle, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var handle: ObjectHandle
    /// The request as a client (or a peer server) sends it.
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
