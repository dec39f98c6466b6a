/// Makes these datafiles' data durable (fsync).
public struct SyncDatafiles: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 17, idempotent: true, commits: true, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    public var datafiles: [ObjectHandle]
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
