import TrellisFSDistribution

/// A file whose datafiles the client made itself (PVFS2's create without server
/// help): the metadata and the entry in one step.
public struct CreateFileWithDatafiles: FSOperation {
    /// Code 27 on the wire, answered with `ObjectAttributes`; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(
        code: 27, idempotent: false, commits: true, \.parent, \.name, \.mode, \.distribution, \.datafiles,
        make: { try Self(parent: $0, name: $1, mode: $2, distribution: $3, datafiles: $4.checkDatafileCount()) })
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution, datafiles: [ObjectHandle]
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution, datafiles: [ObjectHandle]) {
        (self.parent, self.name, self.mode, self.distribution, self.datafiles) = (parent, name, mode, distribution, datafiles)
    }
}
