/// Datafile objects made again under handles a file lists but this server lost;
/// their data reads as a hole (fsck; uid 0 only).
public struct RestoreDatafiles: FSOperation {
    /// Code 40 on the wire, answered with ``Done``; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 40, idempotent: true, commits: true, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    /// The request's fields, in the order the wire form lists them.
    public var datafiles: [ObjectHandle]
    /// The request as a client (or a peer server) sends it.
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
