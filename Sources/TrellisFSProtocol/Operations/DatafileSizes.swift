/// The bytes each of these datafiles of this server holds.
public struct DatafileSizes: FSOperation {
    /// Code 15 on the wire, answered with ``Sizes``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, Sizes>(code: 15, idempotent: true, commits: false, \.datafiles, make: { try Self($0.checkDatafileCount()) })
    /// The request's fields, in the order the wire form lists them.
    public var datafiles: [ObjectHandle]
    /// The request as a client (or a peer server) sends it.
    public init(_ datafiles: [ObjectHandle]) { self.datafiles = datafiles }
}
