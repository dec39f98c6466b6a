/// Deletes datafile objects and their data (the client's half of a remove done
/// step by step).
public struct RemoveDatafiles: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 18, idempotent: true, commits: true, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    public var datafiles: [ObjectHandle]
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
