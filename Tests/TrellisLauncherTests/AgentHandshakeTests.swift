import Crypto
import Foundation
import Synchronization
import Testing
import TrellisCore
@testable import TrellisLauncher
import TrellisSystem

/// The agents' mutual proof of the key, both sides real over a socket pair:
/// the same key passes and delivers the request; another key, a request
/// changed after it was signed, or a proof replayed against a fresh nonce
/// are refused.
struct AgentHandshakeTests {
    private func socketPair() -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        return (fds[0], fds[1])
    }

    /// Runs the agent's side on a thread; returns what it decided.
    private func agentSide(_ fd: Int32, key: AgentKey) -> () -> Result<AgentRequest, Error> {
        let outcome = Mutex<Result<AgentRequest, Error>?>(nil)
        let thread = startThread {
            let result = Result { try AgentHandshake.agent(fd: fd, key: key, deadline: .after(seconds: 10), client: "test client") }
            outcome.withLock { $0 = result }
            close(fd)
        }
        return {
            if let thread { pthread_join(thread, nil) }
            return outcome.withLock { $0! }
        }
    }

    @Test func theSameKeyPassesAndDeliversTheRequest() throws {
        let key = AgentKey.random()
        let (client, agent) = socketPair()
        defer { close(client) }
        let decided = agentSide(agent, key: key)
        let request = AgentRequest.startProxy(parent: "10.0.0.1:4000", position: 3, jobKey: JobKey.random().hex)
        try AgentHandshake.client(fd: client, key: key, request: request, deadline: .after(seconds: 10), agent: "test agent")
        #expect(try decided().get() == request)
    }

    @Test func theRequestTravelsEncrypted() throws {
        let key = AgentKey.random()
        let jobKey = JobKey.random()
        let (client, agent) = socketPair()
        defer { close(client); close(agent) }
        let request = AgentRequest.startProxy(parent: "10.0.0.1:4000", position: 3, jobKey: jobKey.hex)
        // This side plays the agent by hand, to see the bytes as they cross.
        let sending = Thread {
            try? AgentHandshake.client(fd: client, key: key, request: request, deadline: .after(seconds: 10), agent: "test agent")
        }
        sending.start()
        let clientNonce = try AgentHandshake.receive(agent, count: 32, deadline: .after(seconds: 10), from: "client")
        let agentNonce = AgentHandshake.nonce()
        try AgentHandshake.send(agent, agentNonce + AgentHandshake.mac(key, "agent", clientNonce, agentNonce), to: "client")
        let head = try AgentHandshake.receive(agent, count: 36, deadline: .after(seconds: 10), from: "client")
        let sealed = try AgentHandshake.receive(agent, count: head[32...].reduce(0) { $0 << 8 | Int($1) }, deadline: .after(seconds: 10), from: "client")
        let wire = String(decoding: sealed, as: UTF8.self)
        #expect(!wire.contains(jobKey.hex) && !wire.contains("10.0.0.1"))
        let opened = try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: AgentHandshake.requestKey(key, agentNonce: agentNonce, clientNonce: clientNonce))
        #expect(AgentRequest.decode(Array(opened)) == request)
    }

    @Test func anotherKeyIsRefusedOnBothSides() throws {
        let (client, agent) = socketPair()
        let decided = agentSide(agent, key: AgentKey.random())
        let error = #expect(throws: TrellisError.self) {
            try AgentHandshake.client(fd: client, key: AgentKey.random(), request: .ping, deadline: .after(seconds: 10), agent: "test agent")
        }
        #expect(error?.code == .accessRefused && error?.message.contains("does not hold this agent key") == true)
        close(client)
        #expect(throws: TrellisError.self) { try decided().get() }
    }

    @Test func aChangedRequestAndAReplayedProofAreRefused() throws {
        let key = AgentKey.random()
        // A request other than the one the proof covers.
        let (client, agent) = socketPair()
        let decided = agentSide(agent, key: key)
        let clientNonce = AgentHandshake.nonce()
        try AgentHandshake.send(client, clientNonce, to: "agent")
        let answer = try AgentHandshake.receive(client, count: 64, deadline: .after(seconds: 10), from: "agent")
        let agentNonce = Array(answer[..<32])
        let signed = AgentRequest.ping.encoded
        let sent = AgentRequest.stop.encoded
        let proof = AgentHandshake.mac(key, "client", agentNonce, clientNonce, signed)
        try AgentHandshake.send(client, proof + [0, 0, 0, UInt8(sent.count)] + sent, to: "agent")
        let changed = #expect(throws: TrellisError.self) { try decided().get() }
        #expect(changed?.code == .accessRefused)
        close(client)

        // The same proof against the next connection's fresh nonce.
        let (again, agent2) = socketPair()
        defer { close(again) }
        let decidedAgain = agentSide(agent2, key: key)
        try AgentHandshake.send(again, clientNonce, to: "agent")
        _ = try AgentHandshake.receive(again, count: 64, deadline: .after(seconds: 10), from: "agent")
        try AgentHandshake.send(again, proof + [0, 0, 0, UInt8(signed.count)] + signed, to: "agent")
        let replayed = #expect(throws: TrellisError.self) { try decidedAgain().get() }
        #expect(replayed?.code == .accessRefused)
    }

    @Test func malformedRequestsDecodeToNothing() {
        #expect(AgentRequest.decode(AgentRequest.startProxy(parent: "h:1", position: 0, jobKey: "t").encoded) == .startProxy(parent: "h:1", position: 0, jobKey: "t"))
        for text in ["", "proxy", "proxy\nh:1\n-1\nt", "proxy\n\n1\nt", "proxy\nh:1\nx\nt", "ping\nmore", "stop\n", "launch"] {
            #expect(AgentRequest.decode(Array(text.utf8)) == nil, "\(text.debugDescription)")
        }
    }

    @Test func keysAndTablesOnDisk() throws {
        let folder = NSTemporaryDirectory() + "agent-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/agent.key"
        let made = try AgentKey.loadOrCreate(at: path)
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(try AgentKey.loadOrCreate(at: path) == made)
        chmod(path, 0o640)
        let loose = #expect(throws: TrellisError.self) { try AgentKey.load(from: path) }
        #expect(loose?.message.contains("chmod 600") == true)

        let table = AgentTable(ports: ["n1": 4001, "n2": 4002])
        try table.save(to: folder + "/agents")
        #expect(try AgentTable.load(from: folder + "/agents") == table)
        #expect(try AgentTable.load(from: folder + "/none") == AgentTable())
        #expect(throws: TrellisError.self) { try table.ports(of: ["n1", "n3"], tablePath: "t") }
        try "n1 4001\nn2 lots\n".write(toFile: folder + "/bad", atomically: true, encoding: .utf8)
        let bad = #expect(throws: TrellisError.self) { try AgentTable.load(from: folder + "/bad") }
        #expect(bad?.message.contains("line 2") == true)
    }
}
