/// This server's space and object count (statfs sums them over all servers).
public struct StatFileSystem: FSOperation {
    public static let form = OperationForm<Self, FSStatistics>(code: 12, idempotent: true, commits: false, make: Self.init)
    public init() {}
}
