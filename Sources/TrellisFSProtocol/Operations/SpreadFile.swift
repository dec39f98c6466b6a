/// Gives a stuffed file the rest of its datafiles: those listed (made
/// beforehand by the client), or, with none listed, made by the file's server
/// itself; `exists` when it has them already.
public struct SpreadFile: FSOperation {
    /// Code 25 on the wire, answered with `ObjectAttributes`; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(
        code: 25, idempotent: false, commits: true, \.file, \.datafiles, make: { try Self($0, datafiles: $1.checkDatafileCount()) })
    /// The request's fields, in the order the wire form lists them.
    public var file: ObjectHandle, datafiles: [ObjectHandle]
    /// The request as a client (or a peer server) sends it.
    public init(_ file: ObjectHandle, datafiles: [ObjectHandle]) { (self.file, self.datafiles) = (file, datafiles) }
}
