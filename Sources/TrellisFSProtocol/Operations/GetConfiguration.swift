/// The file system's name, servers and default distribution: what a client
/// learns from any one server.
public struct GetConfiguration: FSOperation {
    /// Code 1 on the wire, answered with ``FSConfiguration``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, FSConfiguration>(code: 1, idempotent: true, commits: false, make: Self.init)
    /// The request as a client (or a peer server) sends it.
    public init() {}
}
