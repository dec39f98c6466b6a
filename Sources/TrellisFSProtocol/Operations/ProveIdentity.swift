/// Proves, once per connection, who the client is: a MUNGE credential made
/// by the client's munged for the uid and gid its kernel says it runs as,
/// carrying the file system's name. The server answers with the identity it
/// now holds the connection to, and from then on takes no request made in
/// another user's name on it (root's aside: a mount acts for every user).
/// `notSupported` from a server that does not ask for proofs.
public struct ProveIdentity: FSOperation {
    /// Code 53 on the wire, answered with the proven `Credentials`; resent after a lost connection (on the new one, with a new credential); changes no metadata.
    public static let form = OperationForm<Self, Credentials>(code: 53, idempotent: true, commits: false, \.credential, make: { credential in
        guard credential.utf8.count <= maximumCredentialBytes else {
            throw FSError(.protocolViolation, "a MUNGE credential of \(credential.utf8.count) bytes (at most \(maximumCredentialBytes))")
        }
        return Self(credential: credential)
    })
    /// Longer than any credential MUNGE makes for a short payload.
    public static let maximumCredentialBytes = 4096
    /// The request's fields, in the order the wire form lists them.
    public var credential: String
    /// The request as a client sends it.
    public init(credential: String) { self.credential = credential }

    /// What a client puts in its credential for file system `name`, so it proves nothing to another.
    public static func payload(fileSystem name: String) -> String { "trellis-fs/\(name)" }
}
