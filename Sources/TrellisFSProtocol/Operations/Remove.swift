/// unlink (`directory` false) or rmdir (true) of an entry whose object lives on
/// the same server, step by step as PVFS2 does it: the data servers' datafiles
/// are the caller's to remove next.
public struct Remove: FSOperation {
    public static let form = OperationForm<Self, LinksLeft>(code: 9, idempotent: false, commits: true, \.parent, \.name, \.directory, make: Self.init)
    public var parent: ObjectHandle, name: String, directory: Bool
    public init(parent: ObjectHandle, name: String, directory: Bool) { (self.parent, self.name, self.directory) = (parent, name, directory) }
}
