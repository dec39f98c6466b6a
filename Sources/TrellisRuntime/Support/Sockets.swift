import Glibc
import CTrellisSystem
import TrellisCore
import TrellisSystem

/// Small wrappers over the BSD socket calls the socket transport makes.
enum Sockets {
    static func failure(_ call: String, _ context: String) -> TrellisError {
        let code = errno
        return TrellisError(.systemCall, "\(call) failed: \(context)", underlying: SystemCallError(call, errno: code))
    }

    /// A nonblocking listening socket; port 0 picks a free one.
    static func listen(host: String, port: UInt16 = 0, backlog: Int32 = 1024) throws -> (fd: Int32, address: String) {
        var socketAddress = try IPv4Address.parse("\(host):\(port)")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("socket", "listening socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        // Accepted connections inherit the buffer sizes, in time for the
        // handshake that fixes the window scale.
        tune(fd)
        guard IPv4Address.bind(fd, to: &socketAddress) else {
            let error = failure("bind", "\(host):\(port)")
            Glibc.close(fd)
            throw error
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = failure("listen", "\(host):\(port)")
            Glibc.close(fd)
            throw error
        }
        return (fd, IPv4Address.describe(socketAddress))
    }

    /// Starts a nonblocking connect; completion shows up as writability.
    static func startConnect(to address: String) throws -> Int32 {
        let socketAddress = try IPv4Address.parse(address)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("socket", "connection to \(address)") }
        tune(fd)
        let result = IPv4Address.connect(fd, to: socketAddress)
        if result != 0 && errno != EINPROGRESS {
            let error = failure("connect", address)
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// The pending error of a socket (used once a nonblocking connect ends).
    static func pendingError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length)
        return value
    }

    /// Socket buffer size for new connections; 0 leaves the kernel's autotuning.
    nonisolated(unsafe) static var bufferBytes = 4 << 20

    static func tune(_ fd: Int32) {
        trellis_set_nodelay(fd)
        if bufferBytes > 0 { trellis_set_buffer_sizes(fd, Int32(bufferBytes)) }
        detectFailures(fd)
    }

    /// Seconds within which a peer behind a cut link (or a crashed host) is
    /// found dead: a killed process is noticed at once, as its kernel
    /// resets the connection; a silent one by TCP keepalive probes and the
    /// user timeout on unacknowledged data. `TRELLIS_FAILURE_DETECTION_SECONDS`.
    nonisolated(unsafe) static var failureDetectionSeconds: Double = 10

    private static func detectFailures(_ fd: Int32) {
        let seconds = max(failureDetectionSeconds, 2)
        var on: Int32 = 1
        // Silence, then unanswered probes: idle + probes × interval ≤ the detection time.
        var probes: Int32 = seconds >= 6 ? 2 : 1
        var idle = Int32(max(seconds / Double(probes + 1), 1))
        var interval = idle
        var userTimeout = UInt32(seconds * 1000)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idle, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &interval, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &probes, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, &userTimeout, socklen_t(MemoryLayout<UInt32>.size))
    }

    /// "host:port" of the other end of `fd` ("?" when it cannot be told).
    static func remoteAddress(_ fd: Int32) -> String {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
        }
        return ok ? IPv4Address.describe(address) : "?"
    }

    /// Whether both ends of the connection are loopback addresses: its bytes
    /// never leave this host's kernel, where only root could change them.
    static func isLoopback(_ fd: Int32) -> Bool {
        func loopback(_ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> Bool {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) == 0 } }
            return ok && address.sin_family == sa_family_t(AF_INET) && UInt32(bigEndian: address.sin_addr.s_addr) >> 24 == 127
        }
        return loopback(getsockname) && loopback(getpeername)
    }

    /// Whether the connection runs between two sockets of this network
    /// namespace: both ends on loopback, or both on the same address (the
    /// kernel routes a connection to one of its own addresses internally).
    /// Only such peers may share memory; hosts made as network namespaces
    /// on one machine are kept apart as real hosts would be.
    static func isSameHost(_ fd: Int32) -> Bool {
        if isLoopback(fd) { return true }
        func address(_ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> UInt32? {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) == 0 } }
            return ok && address.sin_family == sa_family_t(AF_INET) ? address.sin_addr.s_addr : nil
        }
        guard let local = address(getsockname), let remote = address(getpeername) else { return false }
        return local == remote
    }

    static func acceptConnection(_ listenFD: Int32) -> Int32? {
        let fd = trellis_accept(listenFD)
        guard fd >= 0 else { return nil }
        tune(fd)
        return fd
    }
}
