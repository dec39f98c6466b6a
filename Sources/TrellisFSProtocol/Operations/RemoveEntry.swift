/// Removes only the entry, and only if it still names `handle`; `owner` is the
/// object's uid as its server reported it (for sticky directories).
public struct RemoveEntry: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 21, idempotent: false, commits: true, \.parent, \.name, \.handle, \.owner, make: Self.init)
    public var parent: ObjectHandle, name: String, handle: ObjectHandle, owner: UInt32
    public init(parent: ObjectHandle, name: String, handle: ObjectHandle, owner: UInt32) { (self.parent, self.name, self.handle, self.owner) = (parent, name, handle, owner) }
}
