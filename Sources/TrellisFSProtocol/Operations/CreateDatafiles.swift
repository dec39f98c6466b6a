/// Empty datafile objects on the server that receives it.
public struct CreateDatafiles: FSOperation {
    public static let form = OperationForm<Self, [ObjectHandle]>(code: 26, idempotent: false, commits: true, \.count, make: Self.init)
    public var count: UInt32
    public init(count: UInt32) { self.count = count }
}
