import Glibc
import TrellisCore
import TrellisSystem

/// A blocking TCP connection that exchanges newline-terminated lines, every
/// step bounded by a timeout. Used by name-service clients, which must not
/// need an event loop of their own.
final class LineConnection {
    let address: String
    /// -1 once closed: a throwing init closes it itself, and the deinit that Swift still runs then must not close the number again (another thread may hold it by then).
    private var fd: Int32
    private var pending: [UInt8] = []

    init(address: String, timeoutSeconds: Double) throws {
        self.address = address
        let socketAddress: sockaddr_in
        do { socketAddress = try IPv4Address.parse(address) } catch let error as TrellisError {
            throw TrellisError(.invalidArgument, "name service \(error.message)")
        }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("socket", address, errno) }
        let started = IPv4Address.connect(fd, to: socketAddress)
        if started != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                closeDescriptor()
                throw Self.failure("connect", address, code)
            }
            guard waitFor(Int16(POLLOUT), deadline: .after(seconds: timeoutSeconds)) else {
                closeDescriptor()
                throw TrellisError(.nameServiceUnavailable, "no name service answered at \(address) within \(timeoutSeconds) s")
            }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
            if failure != 0 {
                closeDescriptor()
                throw Self.failure("connect", address, failure)
            }
        }
    }

    deinit { closeDescriptor() }

    private func closeDescriptor() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    private static func failure(_ call: String, _ address: String, _ code: Int32) -> TrellisError {
        TrellisError(
            .nameServiceUnavailable, "no name service at \(address) (start one with `trellis names start`)",
            underlying: SystemCallError(call, errno: code))
    }

    /// Sends one line (the newline included in `bytes`).
    func send(_ bytes: [UInt8], deadline: Deadline) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EINTR) {
                guard waitFor(Int16(POLLOUT), deadline: deadline) else {
                    throw TrellisError(.timedOut, "sending to the name service at \(address) timed out")
                }
            } else {
                throw TrellisError(.nameServiceUnavailable, "the name service at \(address) closed the connection", underlying: SystemCallError("send", errno: errno))
            }
        }
    }

    /// Receives one line, without its newline.
    func receiveLine(deadline: Deadline, limit: Int) throws -> [UInt8] {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            guard pending.count <= limit else {
                throw TrellisError(.protocolViolation, "the name service at \(address) sent a line over \(limit) bytes")
            }
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                pending.append(contentsOf: chunk[..<count])
            } else if count < 0 && (errno == EAGAIN || errno == EINTR) {
                guard waitFor(Int16(POLLIN), deadline: deadline) else {
                    throw TrellisError(.timedOut, "the name service at \(address) did not answer in time")
                }
            } else {
                throw TrellisError(.nameServiceUnavailable, "the name service at \(address) closed the connection")
            }
        }
    }

    private func waitFor(_ events: Int16, deadline: Deadline) -> Bool {
        while true {
            let remaining = deadline.remainingNanoseconds
            if remaining <= 0 { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min((remaining + 999_999) / 1_000_000, 1_000_000)))
            if result > 0 { return true }
            if result < 0 && errno != EINTR { return true }
        }
    }
}
