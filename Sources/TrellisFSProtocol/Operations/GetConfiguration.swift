/// The file system's name, servers and default distribution: what a client
/// learns from any one server.
public struct GetConfiguration: FSOperation {
    public static let form = OperationForm<Self, FSConfiguration>(code: 1, idempotent: true, commits: false, make: Self.init)
    public init() {}
}
