/// An entry naming an object that may live on another server.
public struct AddEntry: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 20, idempotent: false, commits: true, \.parent, \.name, \.handle, \.kind, make: Self.init)
    public var parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind
    public init(parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind) { (self.parent, self.name, self.handle, self.kind) = (parent, name, handle, kind) }
}
