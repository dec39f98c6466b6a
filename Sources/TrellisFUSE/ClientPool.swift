import Synchronization
import TrellisFSClient
import TrellisFSProtocol

/// Clients for the mount's worker threads: a client serves one thread at a
/// time and speaks for one user, so each request checks one out for its
/// caller's credentials and gives it back. All share one runtime.
final class ClientPool: Sendable {
    private let first: FileSystemClient
    private let idle = Mutex<[Credentials: [FileSystemClient]]>([:])

    init(first: FileSystemClient) {
        self.first = first
    }

    func with<T>(_ credentials: Credentials, _ body: (FileSystemClient) throws -> T) rethrows -> T {
        let client = idle.withLock { $0[credentials]?.popLast() } ?? first.sibling(credentials: credentials)
        defer { idle.withLock { $0[credentials, default: []].append(client) } }
        return try body(client)
    }

    func close() {
        for client in idle.withLock({ $0.values.flatMap { $0 } }) { client.close() }
        first.close()
    }
}
