import Glibc
import TrellisCore

/// The launcher's and proxies' side of an agent connection.
public enum AgentClient {
    /// Connects to the agent at `host:port` and passes the handshake with
    /// `request`; returns the connection, which then carries the agent's
    /// answer (for a proxy, its stdout and stderr until it ends).
    public static func open(host: String, port: Int, key: AgentKey, request: AgentRequest, seconds: Double = 10) throws -> Int32 {
        let agent = "the agent on \(host) (port \(port))"
        let deadline = Deadline.after(seconds: seconds)
        let fd = try connectedSocket(to: "\(host):\(port)", seconds: seconds, peer: "\(agent) (is it up? `trellis agents status`)")
        do {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            try AgentHandshake.client(fd: fd, key: key, request: request, deadline: deadline, agent: agent)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// A request whose answer is one line (ping, stop): that line.
    public static func ask(host: String, port: Int, key: AgentKey, request: AgentRequest, seconds: Double = 10) throws -> String {
        let fd = try open(host: host, port: port, key: key, request: request, seconds: seconds)
        defer { close(fd) }
        let deadline = Deadline.after(seconds: seconds)
        var bytes: [UInt8] = []
        while bytes.last != UInt8(ascii: "\n") {
            guard let chunk = try? AgentHandshake.receive(fd, count: 1, deadline: deadline, from: "the agent on \(host)") else { break }
            bytes += chunk
        }
        let line = String(decoding: bytes, as: UTF8.self).trimmingSuffix("\n")
        guard !line.isEmpty else { throw TrellisError(.connectionFailed, "the agent on \(host) (port \(port)) closed the connection without an answer") }
        if line.contains(": refused: ") { throw TrellisError(.accessRefused, line) }
        return line
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
