import Glibc
import TrellisCore

/// "host:port" text and the `sockaddr_in` the socket calls take, both ways.
/// IPv4 dotted quads and "localhost" only: Trellis addresses are what a
/// process reports of its own listening socket.
public enum IPv4Address {
    /// The socket address of `host:port` with a dotted-quad or `localhost`
    /// host; throws `invalidArgument` for anything else (`resolve` takes host names).
    public static func parse(_ address: String) throws -> sockaddr_in {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw TrellisError(.invalidArgument, "address '\(address)' is not host:port")
        }
        var host = String(address[..<colon])
        if host == "localhost" { host = "127.0.0.1" }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &socketAddress.sin_addr) == 1 else {
            throw TrellisError(.invalidArgument, "address '\(address)' does not name an IPv4 host")
        }
        return socketAddress
    }

    /// The address as `host:port` text, the inverse of `parse`.
    public static func describe(_ socketAddress: sockaddr_in) -> String {
        "\(host(of: socketAddress)):\(UInt16(bigEndian: socketAddress.sin_port))"
    }

    /// The dotted quad of an address, without its port.
    public static func host(of socketAddress: sockaddr_in) -> String {
        var copy = socketAddress.sin_addr
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &copy, &text, socklen_t(INET_ADDRSTRLEN))
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `bind` (and `getsockname` back into the address) on a plain socket.
    public static func bind(_ fd: Int32, to socketAddress: inout sockaddr_in) -> Bool {
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
    }

    /// `connect` to the address (blocking or not, as the socket is).
    public static func connect(_ fd: Int32, to socketAddress: sockaddr_in) -> Int32 {
        var copy = socketAddress
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// A TCP port on 127.0.0.1 that nobody listens on right now (the kernel's
/// pick), for a service started next; nil if none could be had.
public func freeLocalPort() -> Int? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    guard var address = try? IPv4Address.parse("127.0.0.1:0"), IPv4Address.bind(fd, to: &address) else { return nil }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits for another process to write a file (a port name, say) and returns
/// its trimmed contents, or nil at the deadline. Polls: the writer is another
/// process, which a file system gives no cheaper way to wait for.
public func waitForFileContents(_ path: String, deadline: Deadline) -> String? {
    var text = ""
    let found = poll(until: deadline) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return false }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &bytes, bytes.count)
        close(fd)
        text = count > 0 ? String(decoding: bytes[..<count], as: UTF8.self).trimmingWhitespace() : ""
        return !text.isEmpty
    }
    return found ? text : nil
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

extension IPv4Address {
    /// An address of this host that other hosts reach it at: what `name`
    /// (a launcher's hint, else this host's name) resolves to, or failing
    /// that the first address of an interface that is up; never loopback.
    public static func ofThisHost(named name: String? = nil) throws -> String {
        let hostName = thisHostName()
        for candidate in [name, hostName].compactMap({ $0 }) where !candidate.isEmpty {
            var hints = addrinfo()
            hints.ai_family = AF_INET
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(candidate, nil, &hints, &result) == 0 else { continue }
            defer { freeaddrinfo(result) }
            var entry = result
            while let current = entry {
                if let text = current.pointee.ai_addr.map(describeHost), !text.hasPrefix("127.") { return text }
                entry = current.pointee.ai_next
            }
        }
        var interfaces: UnsafeMutablePointer<ifaddrs>?
        if getifaddrs(&interfaces) == 0 {
            defer { freeifaddrs(interfaces) }
            var entry = interfaces
            while let current = entry {
                let flags = Int32(current.pointee.ifa_flags)
                if let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                    flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0
                {
                    return describeHost(address)
                }
                entry = current.pointee.ifa_next
            }
        }
        throw TrellisError(.invalidArgument, "this host (\(hostName)) has no address other hosts can reach; set TRELLIS_HOST")
    }

    private static func describeHost(_ address: UnsafeMutablePointer<sockaddr>) -> String {
        address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { host(of: $0.pointee) }
    }

    /// This machine's host name ("localhost" when it has none).
    public static func thisHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The dotted quad `host` names: itself, or what its name resolves to.
    public static func resolveHost(_ host: String) throws -> String {
        self.host(of: try resolve("\(host):0"))
    }
}

extension IPv4Address {
    /// Like `parse`, but the host may be a name, looked up as the system does.
    public static func resolve(_ address: String) throws -> sockaddr_in {
        if let parsed = try? parse(address) { return parsed }
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw TrellisError(.invalidArgument, "address '\(address)' is not host:port")
        }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let host = String(address[..<colon])
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let first = result, let found = first.pointee.ai_addr else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw TrellisError(.invalidArgument, "host '\(host)' has no IPv4 address (\(reason))")
        }
        defer { freeaddrinfo(result) }
        var socketAddress = found.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
        socketAddress.sin_port = port.bigEndian
        return socketAddress
    }
}

extension IPv4Address {
    /// The address of this host that its packets to `address` (host:port)
    /// leave from, as the routing table picks it: a UDP socket's connect
    /// sends nothing. Nil when no route leads there.
    public static func localAddress(toward address: String) -> String? {
        guard let remote = try? resolve(address) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard connect(fd, to: remote) == 0 else { return nil }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 } }
        return named ? host(of: local) : nil
    }
}
