/// Datafile objects made again under handles a file lists but this server lost;
/// their data reads as a hole (fsck; uid 0 only).
public struct RestoreDatafiles: FSOperation {
    public static let form = OperationForm<Self, Done>(code: 40, idempotent: true, commits: true, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    public var datafiles: [ObjectHandle]
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
