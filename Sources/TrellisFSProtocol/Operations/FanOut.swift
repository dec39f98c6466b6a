/// A server's request to another: do `work` over `servers` (the receiver first)
/// as a binomial tree and answer with the subtree's result.
public struct FanOut: FSOperation {
    public static let form = OperationForm<Self, FanOutResult>(
        code: 28, idempotent: true, commits: true, \.work, \.servers, make: { try Self($0, servers: $1.checkServerList()) })
    public var work: FanOutWork, servers: [UInt32]
    public init(_ work: FanOutWork, servers: [UInt32]) { (self.work, self.servers) = (work, servers) }
}
