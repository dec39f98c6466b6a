/// A symbolic link in `parent`, on the parent's server.
public struct Symlink: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 7, idempotent: false, commits: true, \.parent, \.name, \.target, make: Self.init)
    public var parent: ObjectHandle, name: String, target: String
    public init(parent: ObjectHandle, name: String, target: String) { (self.parent, self.name, self.target) = (parent, name, target) }
}
