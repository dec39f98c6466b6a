/// Removes one extended attribute.
public struct RemoveExtendedAttribute: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 34, idempotent: false, commits: true, \.handle, \.name, make: Self.init)
    public var handle: ObjectHandle, name: String
    public init(_ handle: ObjectHandle, name: String) { (self.handle, self.name) = (handle, name) }
}
