/// This server's space and object count (statfs sums them over all servers).
public struct StatFileSystem: FSOperation {
    /// Code 12 on the wire, answered with ``FSStatistics``; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, FSStatistics>(code: 12, idempotent: true, commits: false, make: Self.init)
    /// The request as a client (or a peer server) sends it.
    public init() {}
}
