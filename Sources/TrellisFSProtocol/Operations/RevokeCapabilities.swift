/// Tells a data server that capabilities for these datafiles issued before
/// `issuedBeforeMilliseconds` (by the owner's clock, which issued them)
/// no longer hold: the owner sends it when a chmod or chown changes who
/// may read or write the file, so access given before the change ends with
/// it, not at the capabilities' expiry. Only servers send it.
public struct RevokeCapabilities: FSOperation {
    /// Code 54 on the wire, answered with ``Done``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, Done>(
        code: 54, idempotent: true, commits: false, \.datafiles, \.issuedBeforeMilliseconds,
        make: { try Self($0.checkDatafileCount(), issuedBeforeMilliseconds: $1) })
    /// The request's fields, in the order the wire form lists them.
    public var datafiles: [ObjectHandle], issuedBeforeMilliseconds: Int64
    /// The request as a file's owner sends it.
    public init(_ datafiles: [ObjectHandle], issuedBeforeMilliseconds: Int64) {
        (self.datafiles, self.issuedBeforeMilliseconds) = (datafiles, issuedBeforeMilliseconds)
    }
}
