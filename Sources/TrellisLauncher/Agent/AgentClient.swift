#if canImport(Glibc)
import Glibc
#endif
import TrellisCore

/// The launcher's and proxies' side of an agent connection.
public enum AgentClient {
    /// Connects to the agent at `host:port` and passes the handshake with
    /// `request`; returns the connection, which then carries the agent's
    /// answer (for a proxy, its stdout and stderr until it ends).
    public static func open(host: String, port: Int, key: AgentKey, request: AgentRequest, seconds: Double = 10) throws -> Int32 {
        let agent = "the agent on \(host) (port \(port))"
        let deadline = Deadline.after(seconds: seconds)
        let address = try IPv4Address.resolve("\(host):\(port)")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw TrellisError(.launchFailed, "socket", underlying: SystemCallError("socket", errno: errno)) }
        do {
            if IPv4Address.connect(fd, to: address) != 0 {
                guard errno == EINPROGRESS else { throw TrellisError(.connectionFailed, "cannot reach \(agent)", underlying: SystemCallError("connect", errno: errno)) }
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready: Int32
                repeat { ready = Glibc.poll(&entry, 1, Int32(min(Double(deadline.remainingNanoseconds) / 1e6, 60_000))) } while ready < 0 && errno == EINTR
                guard ready > 0 else { throw TrellisError(.timedOut, "\(agent) did not answer within \(Int(seconds)) s") }
                var failure: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
                guard failure == 0 else {
                    throw TrellisError(.connectionFailed, "cannot reach \(agent) (is it up? `trellis agents status`)", underlying: SystemCallError("connect", errno: failure))
                }
            }
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
