import TrellisFSDistribution

/// A new file in `parent` (on the parent's server), striped by `distribution`
/// or the directory's default. Stuffed, only its first datafile is made, with
/// the metadata, until it grows past one strip; otherwise the parent's server
/// makes the rest on their servers (from its pool, or through one fan-out)
/// before it answers. The reply carries the directory's version from just
/// before the create, for clients that keep what they know of its names.
public struct CreateFile: FSOperation {
    /// Code 5 on the wire, answered with ``Created``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Created>(
        code: 5, idempotent: false, commits: true, \.parent, \.name, \.mode, \.distribution, \.stuffed, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution?, stuffed: Bool
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution?, stuffed: Bool) {
        (self.parent, self.name, self.mode, self.distribution, self.stuffed) = (parent, name, mode, distribution, stuffed)
    }
}
