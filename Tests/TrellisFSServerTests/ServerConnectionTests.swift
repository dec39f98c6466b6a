import Foundation
import Synchronization
import Testing
import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisRuntime
import TrellisSystem

/// A line to a server that takes a request and never answers it (a server
/// stopping with the request in hand), over a real connection between two
/// runtimes of this process.
@Suite struct ServerConnectionTests {
    @Test func aWaitGivenUpEndsLongBeforeItsDeadline() throws {
        let serverRuntime = try Runtime.initialize(asSingleton: true)
        defer { try? serverRuntime.finalize() }
        let port = serverRuntime.openPort()
        defer { port.close() }
        // The client's side stops waiting once the request is in the server's hands.
        let stopping = Atomic<Bool>(false)
        let server = try #require(startThread(named: "silent server") {
            guard let client = try? serverRuntime.selfCommunicator.iaccept(port).wait(deadline: .after(seconds: 60)) else { return }
            if (try? client.receive(from: .rank(0), tag: .tag(MessageTags.request), deadline: .after(seconds: 60))) != nil {
                stopping.store(true, ordering: .releasing)
            }
            // Held, unanswered, until the client drops its line.
            _ = try? client.receive(from: .rank(0), tag: .any, deadline: .after(seconds: 60))
        })
        defer { pthread_join(server, nil) }

        let clientRuntime = try Runtime.initialize(asSingleton: true)
        defer { try? clientRuntime.finalize() }
        let line = ServerConnection(
            index: 3, serviceName: "silent", runtime: clientRuntime, requestIDs: RequestIDSource(), portName: port.name.description,
            givenUp: { stopping.load(ordering: .acquiring) })
        defer { line.drop() }

        // Without the give-up this waits the whole minute and fails as timed out.
        let error = #expect(throws: FSError.self) {
            try line.call(StatFileSystem(), credentials: Credentials(uid: 0, gid: 0), deadline: .after(seconds: 60))
        }
        #expect(error?.code == .serverUnavailable)
        #expect(error?.message.contains("given up") == true)
    }
}
