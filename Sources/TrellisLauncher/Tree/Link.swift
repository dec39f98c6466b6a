import Glibc
import NIOCore
import TrellisCore
import TrellisSystem

/// One TCP link of a job's tree, nonblocking, owned by one node's poll loop:
/// messages out are queued and written as the socket takes them; messages
/// in are framed as they arrive. A link that hears nothing for the plan's
/// timeout counts as cut (heartbeats keep a quiet one alive), so a host
/// whose network goes away is noticed without waiting for TCP to give up.
final class Link {
    let fd: Int32
    private var input = ByteBufferAllocator().buffer(capacity: 4096)
    private var output = ByteBufferAllocator().buffer(capacity: 4096)
    private(set) var lastHeard = Deadline.now()
    private var lastSent = Deadline.now()
    private(set) var isOpen = true
    /// Messages sent and received, heartbeats aside: what a node handled on this link.
    private(set) var messagesSent = 0
    private(set) var messagesReceived = 0
    /// Why it closed, for the message that names the host.
    private(set) var closeReason = ""
    /// Once the handshake is done: the seals of frames out and in.
    private var outgoingSeal: LinkSeal?
    private var incomingSeal: LinkSeal?

    init(fd: Int32) {
        self.fd = fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Connects to "address:port", blocking up to `seconds`.
    static func connect(to address: String, seconds: Double) throws -> Link {
        Link(fd: try connectedSocket(to: address, seconds: seconds, peer: "the parent at \(address)"))
    }

    /// This end's IPv4 address: what hosts on the same network reach this node at.
    var localHost: String { host(of: getsockname) }

    /// The other end's IPv4 address.
    var remoteHost: String { host(of: getpeername) }

    private func host(of call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> String {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) == 0 }
        }
        return ok ? IPv4Address.host(of: address) : "127.0.0.1"
    }

    var wantsToWrite: Bool { isOpen && output.readableBytes > 0 }

    /// Seals every frame from now on, each way, with keys drawn from the job
    /// key and the handshake's nonces; `asParent`: this end sent the challenge.
    func startSealing(_ key: JobKey, parentNonce: [UInt8], childNonce: [UInt8], asParent: Bool) {
        let down = LinkSeal(jobKey: key, parentNonce: parentNonce, childNonce: childNonce, direction: .down)
        let up = LinkSeal(jobKey: key, parentNonce: parentNonce, childNonce: childNonce, direction: .up)
        (outgoingSeal, incomingSeal) = asParent ? (down, up) : (up, down)
    }

    /// Whether bytes have arrived that `receive` has not made messages of yet
    /// (those after a handshake message wait for the seals it brings).
    var hasBufferedInput: Bool { input.readableBytes > 0 }

    func send(_ message: LinkMessage) {
        guard isOpen else { return }
        var frame = message.encoded()
        if outgoingSeal != nil {
            let body = Array(frame.readableBytesView.dropFirst(4))
            let length = Self.lengthBytes(body.count + LinkSeal.tagBytes)
            output.writeBytes(length)
            output.writeBytes(outgoingSeal!.seal(body, length: length))
        } else {
            output.writeBuffer(&frame)
        }
        if message != .heartbeat { messagesSent += 1 }
        lastSent = .now()
        flush()
    }

    /// Writes what the socket takes now.
    func flush() {
        while isOpen && output.readableBytes > 0 {
            let written = output.withUnsafeReadableBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                // A link down on this host fails sends at once; whether the link is lost is the keep-alive's to say.
                if errno == EAGAIN || errno == EWOULDBLOCK || SystemCallError.isNetworkLoss(errno) { return }
                shut("writing failed: \(String(cString: strerror(errno)))")
                return
            }
            output.moveReaderIndex(forwardBy: written)
        }
        output.discardReadBytes()
    }

    /// Reads what has arrived and returns the whole messages in it; closes
    /// the link at its end or on bytes that are not messages.
    func receive() -> [LinkMessage] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while isOpen {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK && !SystemCallError.isNetworkLoss(errno) { shut("reading failed: \(String(cString: strerror(errno)))") }
                break
            }
            if count == 0 {
                shut("the connection closed")
                break
            }
            input.writeBytes(chunk[..<count])
            lastHeard = .now()
            if count < chunk.count { break }
        }
        var messages: [LinkMessage] = []
        do {
            // Before the seals, only a handshake's few small frames come: nothing large is held for a peer that proved nothing.
            while let message = try incomingSeal == nil
                ? LinkMessage.decode(from: &input, maximumBytes: LinkMessage.maximumHandshakeFrameBytes) : nextSealedMessage()
            {
                if message != .heartbeat { messagesReceived += 1 }
                messages.append(message)
                // What follows a handshake message may be sealed with what it brings: the caller asks again.
                if message.isHandshake { break }
            }
        } catch {
            shut("\(error)")
        }
        input.discardReadBytes()
        return messages
    }

    /// The next whole sealed frame's message; nil while only part of one has come.
    private func nextSealedMessage() throws -> LinkMessage? {
        guard let length = input.getInteger(at: input.readerIndex, as: UInt32.self) else { return nil }
        guard Int(length) > LinkSeal.tagBytes, Int(length) <= LinkMessage.maximumFrameBytes + LinkSeal.tagBytes else {
            throw LinkError("a sealed frame of \(length) bytes")
        }
        guard input.readableBytes >= 4 + Int(length) else { return nil }
        input.moveReaderIndex(forwardBy: 4)
        let sealed = input.readBytes(length: Int(length))!
        guard let body = incomingSeal!.open(sealed, length: Self.lengthBytes(Int(length))) else {
            throw LinkError("a frame that does not open with the job's key (altered, replayed, or from a process without the key)")
        }
        return try LinkMessage.decode(body: ByteBuffer(bytes: body))
    }

    private static func lengthBytes(_ length: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(length).bigEndian) { Array($0) }
    }

    /// Sends a heartbeat when nothing went out for a while; false once the
    /// other end has been silent past `timeout` (the link is then closed).
    func keepAlive(timeout: Double) -> Bool {
        guard isOpen else { return false }
        let silent = Double(MonotonicClock.nanoseconds() &- lastHeard.uptimeNanoseconds) / 1e9
        if silent > timeout {
            shut("nothing heard for \(Int(silent)) s (link cut?)")
            return false
        }
        if Double(MonotonicClock.nanoseconds() &- lastSent.uptimeNanoseconds) / 1e9 > timeout / 4 { send(.heartbeat) }
        return true
    }

    /// Sends what is queued (briefly blocking) and closes.
    func finish() {
        guard isOpen else { return }
        let deadline = Deadline.after(seconds: 2)
        while wantsToWrite && !deadline.hasPassed {
            flush()
            // The socket is nonblocking; a last message (done, a fence) waits briefly for room, bounded above.
            if wantsToWrite { usleep(1000) }
        }
        shut("")
    }

    func shut(_ reason: String) {
        guard isOpen else { return }
        isOpen = false
        closeReason = reason
        close(fd)
    }
}

/// A listening socket on every interface of this host (or on `host`), on
/// `port` or one the kernel chooses.
struct LinkListener {
    let fd: Int32
    let port: Int

    init(host: String = "0.0.0.0", port wanted: Int = 0) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TrellisError(.launchFailed, "socket", underlying: SystemCallError("socket", errno: errno)) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = try IPv4Address.parse("\(host):\(wanted)")
        guard IPv4Address.bind(fd, to: &address), listen(fd, 1024) == 0 else {
            let code = errno
            close(fd)
            throw TrellisError(.launchFailed, "cannot listen on port \(wanted == 0 ? "(any)" : String(wanted))", underlying: SystemCallError("listen", errno: code))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func accept() -> Link? {
        acceptDescriptor().map(Link.init(fd:))
    }

    /// The next waiting connection, nonblocking and closed on exec; nil when none waits.
    func acceptDescriptor() -> Int32? {
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else { return nil }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
        return client
    }
}

/// A TCP socket connected to "address:port" (closed on exec), the connect
/// bounded by `seconds`; the error names `peer`.
func connectedSocket(to address: String, seconds: Double, peer: String) throws -> Int32 {
    let socketAddress = try IPv4Address.resolve(address)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TrellisError(.launchFailed, "socket", underlying: SystemCallError("socket", errno: errno)) }
    var timeout = timeval(tv_sec: max(1, Int(seconds)), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    guard IPv4Address.connect(fd, to: socketAddress) == 0 else {
        let code = errno
        close(fd)
        throw TrellisError(.launchFailed, "cannot reach \(peer)", underlying: SystemCallError("connect", errno: code))
    }
    return fd
}

/// The address of this host that packets to `host` leave from (the kernel's
/// route choice, learned by connecting a UDP socket, which sends nothing).
func sourceAddress(towards host: String) throws -> String {
    let destination = try IPv4Address.resolve("\(host):9")
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw TrellisError(.connectionFailed, "no socket to find the route to host \(host): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard IPv4Address.connect(fd, to: destination) == 0 else {
        throw TrellisError(.connectionFailed, "no route to host \(host) (\(IPv4Address.host(of: destination))): \(String(cString: strerror(errno)))")
    }
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
    }
    guard named else { throw TrellisError(.connectionFailed, "no local address towards host \(host): \(String(cString: strerror(errno)))") }
    return IPv4Address.host(of: address)
}
