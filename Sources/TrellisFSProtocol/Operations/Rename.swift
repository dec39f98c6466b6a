/// rename(2) between two directories of one server, in one transaction; the
/// reply says how many links a replaced object has left.
public struct Rename: FSOperation {
    public static let form = OperationForm<Self, Renamed>(code: 10, idempotent: false, commits: true, \.fromParent, \.fromName, \.toParent, \.toName, make: Self.init)
    public var fromParent: ObjectHandle, fromName: String, toParent: ObjectHandle, toName: String
    public init(fromParent: ObjectHandle, fromName: String, toParent: ObjectHandle, toName: String) {
        (self.fromParent, self.fromName, self.toParent, self.toName) = (fromParent, fromName, toParent, toName)
    }
}
