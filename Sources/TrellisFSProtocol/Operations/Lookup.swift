/// One name in a directory: the object it names (only its kind, with a link
/// count of 0, when the object lives on another server).
public struct Lookup: FSOperation {
    /// Code 2 on the wire, answered with ``ObjectAttributes``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 2, idempotent: true, commits: false, \.parent, \.name, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String) { (self.parent, self.name) = (parent, name) }
}
