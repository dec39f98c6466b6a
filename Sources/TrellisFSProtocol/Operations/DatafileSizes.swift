/// The bytes each of these datafiles of this server holds.
public struct DatafileSizes: FSOperation {
    public static let form = OperationForm<Self, Sizes>(code: 15, idempotent: true, commits: false, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    public var datafiles: [ObjectHandle]
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
