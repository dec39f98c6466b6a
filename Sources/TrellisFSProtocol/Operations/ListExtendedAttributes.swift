/// An object's extended attribute names.
public struct ListExtendedAttributes: FSOperation {
    public static let form = OperationForm<Self, [String]>(code: 33, idempotent: true, commits: false, \.handle, make: Self.init)
    public var handle: ObjectHandle
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
