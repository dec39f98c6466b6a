/// Deletes an object whose entry went (a directory only when empty; a file's
/// datafiles on this server go with it).
public struct RemoveObject: FSOperation {
    public static let form = OperationForm<Self, LinksLeft>(code: 22, idempotent: false, commits: true, \.handle, make: Self.init)
    public var handle: ObjectHandle
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
