/// Removes the bstreams of datafiles a primary deleted, from a secondary's
/// copy (the datafiles' rows go with the primary's changeset).
public struct DropBstreams: FSOperation {
    /// Code 44 on the wire, answered with ``Done``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, Done>(code: 44, idempotent: true, commits: false, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    /// The datafiles whose bstreams go.
    public var datafiles: [ObjectHandle]
    /// The request as a primary sends it.
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
