/// Sets one datafile's size (its share of the file's new size).
public struct TruncateDatafile: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 16, idempotent: true, commits: true, \.datafile, \.size, make: Self.init)
    public var datafile: ObjectHandle, size: UInt64
    public init(_ datafile: ObjectHandle, size: UInt64) { (self.datafile, self.size) = (datafile, size) }
}
