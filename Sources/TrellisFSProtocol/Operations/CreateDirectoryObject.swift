import TrellisFSDistribution

/// A directory object with no entry yet, on the server that receives it; the
/// client then adds its entry on the parent's server (PVFS2's mkdir).
public struct CreateDirectoryObject: FSOperation {
    /// Code 19 on the wire, answered with ``ObjectAttributes``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, ObjectAttributes>(code: 19, idempotent: false, commits: true, \.mode, \.distribution, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var mode: UInt32, distribution: Distribution?
    /// The request as a client (or a peer server) sends it.
    public init(mode: UInt32, distribution: Distribution?) { (self.mode, self.distribution) = (mode, distribution) }
}
