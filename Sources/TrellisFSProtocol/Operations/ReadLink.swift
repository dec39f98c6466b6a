/// A symbolic link's target.
public struct ReadLink: FSOperation {
    public static let form = OperationForm<Self, String>(code: 8, idempotent: true, commits: false, \.handle, make: Self.init)
    public var handle: ObjectHandle
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
