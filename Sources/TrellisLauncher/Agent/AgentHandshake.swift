import Glibc
import Crypto
import TrellisCore
import TrellisSystem

/// The mutual proof of the key that opens every connection to an agent,
/// a challenge-response with a fresh nonce from each side (HMAC-SHA256), so
/// that a recorded exchange is worth nothing and neither side gives anything
/// to a peer without the key: the agent starts no process, and the launcher
/// hands no job token to an impostor.
///
///     client → agent   client nonce (32 bytes)
///     agent  → client  agent nonce (32), HMAC(key, "agent" ‖ client nonce ‖ agent nonce)
///     client → agent   HMAC(key, "client" ‖ agent nonce ‖ client nonce ‖ sealed request), its length (4), sealed request
///
/// The request is encrypted (AES-GCM, under a key drawn from the agent key
/// and both nonces): a request to start a proxy carries the job's key.
///
/// Every read has a deadline: a peer that stalls is dropped.
enum AgentHandshake {
    static let nonceBytes = 32
    static let macBytes = 32
    static let maximumRequestBytes = 64 * 1024

    static func mac(_ key: AgentKey, _ label: String, _ parts: [UInt8]...) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key.bytes))
        hmac.update(data: Array(label.utf8))
        for part in parts { hmac.update(data: part) }
        return Array(hmac.finalize())
    }

    static func nonce() -> [UInt8] { AgentKey.randomBytes(nonceBytes) }

    /// The key that encrypts the one request of the connection these nonces opened.
    static func requestKey(_ key: AgentKey, agentNonce: [UInt8], clientNonce: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: key.bytes), salt: agentNonce + clientNonce, info: Array("trellis agent request".utf8), outputByteCount: 32)
    }

    /// Compares without leaving a timing trace of where the first difference lies.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The client's side: proves the key, checks the agent's proof, sends the request.
    static func client(fd: Int32, key: AgentKey, request: AgentRequest, deadline: Deadline, agent: String) throws {
        let clientNonce = nonce()
        try send(fd, clientNonce, to: agent)
        let answer = try receive(fd, count: nonceBytes + macBytes, deadline: deadline, from: agent)
        let agentNonce = Array(answer[..<nonceBytes])
        guard same(Array(answer[nonceBytes...]), mac(key, "agent", clientNonce, agentNonce)) else {
            throw TrellisError(.accessRefused, "the agent at \(agent) does not hold this agent key: nothing was sent to it")
        }
        // Sealing with a 32-byte key cannot fail.
        let body = Array(try! AES.GCM.seal(request.encoded, using: requestKey(key, agentNonce: agentNonce, clientNonce: clientNonce)).combined!)
        var length = [UInt8](repeating: 0, count: 4)
        for index in 0..<4 { length[index] = UInt8(truncatingIfNeeded: body.count >> (24 - 8 * index)) }
        try send(fd, mac(key, "client", agentNonce, clientNonce, body) + length + body, to: agent)
    }

    /// The agent's side: the request of a client that proved the key, or why not.
    static func agent(fd: Int32, key: AgentKey, deadline: Deadline, client: String) throws -> AgentRequest {
        let clientNonce = try receive(fd, count: nonceBytes, deadline: deadline, from: client)
        let agentNonce = nonce()
        try send(fd, agentNonce + mac(key, "agent", clientNonce, agentNonce), to: client)
        let proof = try receive(fd, count: macBytes + 4, deadline: deadline, from: client)
        let length = proof[macBytes...].reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximumRequestBytes else { throw TrellisError(.protocolViolation, "\(client) announced a \(length)-byte request") }
        let body = try receive(fd, count: length, deadline: deadline, from: client)
        guard same(Array(proof[..<macBytes]), mac(key, "client", agentNonce, clientNonce, body)) else {
            throw TrellisError(.accessRefused, "\(client) does not hold the agent key")
        }
        guard let box = try? AES.GCM.SealedBox(combined: body),
            let opened = try? AES.GCM.open(box, using: requestKey(key, agentNonce: agentNonce, clientNonce: clientNonce)),
            let request = AgentRequest.decode(Array(opened))
        else { throw TrellisError(.protocolViolation, "\(client) sent a request this agent does not know") }
        return request
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], to peer: String) throws {
        guard writeAll(fd, bytes) else {
            throw TrellisError(.connectionFailed, "cannot write to \(peer)", underlying: SystemCallError("write", errno: errno))
        }
    }

    static func receive(_ fd: Int32, count: Int, deadline: Deadline, from peer: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(count, 1))
        while bytes.count < count {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = Glibc.poll(&entry, 1, Int32(min(Double(deadline.remainingNanoseconds) / 1e6, 60_000)))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { throw TrellisError(.timedOut, "\(peer) did not finish the agent handshake in time") }
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, count - bytes.count) }
            if got < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard got > 0 else { throw TrellisError(.connectionFailed, "\(peer) closed the connection during the agent handshake") }
            bytes += chunk[..<got]
        }
        return bytes
    }
}
