import Testing
import TrellisCore
import TrellisFSProtocol
import TrellisFSServer
import TrellisRuntime

/// A server's links to its peers, against handles a client made up.
@Suite struct PeerLinksTests {
    /// Handles carry their server's index in their top bits, and a client can
    /// send any: a peer the file system does not have is a stale handle, not
    /// an index past the end of the server's list (which a seeded fuzz run
    /// found by crashing a server through a rename's replaced entry).
    @Test func aServerOutsideTheFileSystemIsAStaleHandleNotACrash() throws {
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let peers = PeerLinks(runtime: runtime, serviceNames: [["fs-test-server-0"], ["fs-test-server-1"]])
        defer { peers.close() }
        for server in [2, 7, ObjectHandle.maximumServers - 1] {
            #expect {
                try peers.call(GetAttributes(ObjectHandle(server: server, serial: 1)), to: server, deadline: .after(seconds: 1))
            } throws: { error in
                (error as? FSError)?.code == .staleHandle && "\(error)".contains("no server \(server)")
            }
        }
    }
}
