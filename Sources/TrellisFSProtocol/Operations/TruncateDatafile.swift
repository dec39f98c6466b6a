/// Sets one datafile's size (its share of the file's new size).
public struct TruncateDatafile: FSOperation {
    /// Code 16 on the wire, answered with ``Done``; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Done>(code: 16, idempotent: true, commits: true, \.datafile, \.size, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var datafile: ObjectHandle, size: UInt64
    /// The request as a client (or a peer server) sends it.
    public init(_ datafile: ObjectHandle, size: UInt64) { (self.datafile, self.size) = (datafile, size) }
}
