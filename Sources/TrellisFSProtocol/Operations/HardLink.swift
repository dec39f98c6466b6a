/// A hard link, sent to the object's owner: one more link, and the entry too
/// when `parent` lives there (one transaction); otherwise the client adds the
/// entry on the parent's server next.
public struct HardLink: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 35, idempotent: false, commits: true, \.handle, \.parent, \.name, make: Self.init)
    public var handle: ObjectHandle, parent: ObjectHandle, name: String
    public init(_ handle: ObjectHandle, parent: ObjectHandle, name: String) { (self.handle, self.parent, self.name) = (handle, parent, name) }
}
