import Glibc
import Foundation
import TrellisFSClient
import TrellisFSServer
import TrellisKeys
import TrellisNameService
import TrellisSystem

/// A file system whose name service and servers run in this test process,
/// each server's loop on a thread of its own, over real TCP on loopback and
/// real SQLite; stopped and removed when it goes.
final class InProcessFileSystem: @unchecked Sendable {
    let name = "inprocess\(getpid())x\(Int.random(in: 0..<1_000_000))"
    let folder = NSTemporaryDirectory() + "trellis-inprocess-\(UUID().uuidString)"
    private let names: NameServiceServer
    private var servers: [FileSystemServer] = []
    private var threads: [pthread_t] = []

    init(servers count: Int = 2, stripSizeBytes: UInt64 = 4096) throws {
        guard let port = freeLocalPort() else { throw InProcessFailure(description: "no free port for the name service") }
        // The name service holds the key the servers and clients find (made first when there is none, as trellis up does).
        let key = try ClusterKey.load(from: ClusterKey.locateOrMake(environment: ProcessEnvironment.current()).path)
        names = try NameServiceServer.start(host: "127.0.0.1", port: port, leaseSeconds: 10, key: key)
        // The servers' runtimes and the clients find the name service through the environment.
        setenv("TRELLIS_NAME_SERVICE", names.address, 1)
        setenv("TRELLIS_NAMES_AUTOSTART", "0", 1)
        do {
            let configuration = try LocalFileSystem.prepare(name: name, servers: count, folder: folder, stripSizeBytes: stripSizeBytes)
            for index in 0..<count {
                let server = try FileSystemServer(configuration: configuration, index: index)
                servers.append(server)
                guard let thread = startThread({ try? server.run() }) else { throw InProcessFailure(description: "no thread for server \(index)") }
                threads.append(thread)
            }
            try LocalFileSystem.waitUntilServing(configuration, environment: ProcessEnvironment.current(), seconds: 30, logs: folder)
        } catch {
            stop()
            throw error
        }
    }

    func client() throws -> FileSystemClient { try FileSystemClient.connect(name: name, timeoutSeconds: 30) }

    private func stop() {
        for server in servers { server.stop() }
        for thread in threads { pthread_join(thread, nil) }
        servers.removeAll()
        threads.removeAll()
        names.close()
        // Tests of other targets share this process: they must not inherit this name service.
        unsetenv("TRELLIS_NAME_SERVICE")
        unsetenv("TRELLIS_NAMES_AUTOSTART")
        try? FileManager.default.removeItem(atPath: folder)
    }

    deinit { stop() }
}

struct InProcessFailure: Error, CustomStringConvertible { let description: String }
