/// mkdir on the parent's own server: the object and its entry in one
/// transaction.
public struct MakeDirectory: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 6, idempotent: false, commits: true, \.parent, \.name, \.mode, make: Self.init)
    public var parent: ObjectHandle, name: String, mode: UInt32
    public init(parent: ObjectHandle, name: String, mode: UInt32) { (self.parent, self.name, self.mode) = (parent, name, mode) }
}
