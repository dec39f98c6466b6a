/// One name in a directory: the object it names (only its kind, with a link
/// count of 0, when the object lives on another server).
public struct Lookup: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 2, idempotent: true, commits: false, \.parent, \.name, make: Self.init)
    public var parent: ObjectHandle, name: String
    public init(parent: ObjectHandle, name: String) { (self.parent, self.name) = (parent, name) }
}
