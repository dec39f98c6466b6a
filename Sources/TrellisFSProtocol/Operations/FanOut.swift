/// A server's request to another: do `work` over `servers` (the receiver first)
/// as a binomial tree and answer with the subtree's result.
public struct FanOut: FSOperation {
    /// Code 28 on the wire, answered with `FanOutResult`; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, FanOutResult>(
        code: 28, idempotent: true, commits: true, \.work, \.servers, make: { try Self($0, servers: $1.checkServerList()) })
    /// The request's fields, in the order the wire form lists them.
    public var work: FanOutWork, servers: [UInt32]
    /// The request as a client (or a peer server) sends it.
    public init(_ work: FanOutWork, servers: [UInt32]) { (self.work, self.servers) = (work, servers) }
}
