/// Points `name` at `handle` in one step, replacing what it named (the
/// destination side of a rename across servers: the name never vanishes).
public struct ReplaceEntry: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 24, idempotent: false, commits: true, \.parent, \.name, \.handle, \.kind, make: Self.init)
    public var parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind
    public init(parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind) { (self.parent, self.name, self.handle, self.kind) = (parent, name, handle, kind) }
}
