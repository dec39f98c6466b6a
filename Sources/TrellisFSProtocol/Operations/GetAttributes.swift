/// An object's attributes (a file's size only when its datafiles all live with
/// it).
public struct GetAttributes: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 3, idempotent: true, commits: false, \.handle, make: Self.init)
    public var handle: ObjectHandle
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
