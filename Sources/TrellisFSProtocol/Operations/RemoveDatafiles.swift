/// Deletes datafile objects and their data (the client's half of a remove done
/// step by step).
public struct RemoveDatafiles: FSOperation {
    /// Code 18 on the wire, answered with ``Done``; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 18, idempotent: true, commits: true, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    /// The request's fields, in the order the wire form lists them.
    public var datafiles: [ObjectHandle]
    /// The request as a client (or a peer server) sends it.
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
