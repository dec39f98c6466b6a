import Glibc
import TrellisCore
import TrellisSystem

/// The network baseline of `trellis bench io`, as PVFS's authors measured
/// TCP with ttcp before their file system: `bytes` streamed over one TCP
/// connection on loopback, in writes of `chunkBytes`, from this thread to
/// another that reads and drops them. The seconds from the first write to
/// the last byte read.
enum LoopbackStream {
    static func seconds(bytes: Int, chunkBytes: Int) throws -> Double {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw BenchmarkFailure("no socket for the TCP baseline: \(String(cString: strerror(errno)))") }
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 1) == 0 else { throw BenchmarkFailure("cannot listen for the TCP baseline: \(String(cString: strerror(errno)))") }

        let received = ReceivedBytes()
        let reader = startThread(named: "tcp baseline reader") {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            defer { close(connection) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var total = 0
            while total < bytes {
                let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                total += count
            }
            received.set(total, at: MonotonicClock.nanoseconds())
        }
        let sender = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sender >= 0 else { throw BenchmarkFailure("no socket for the TCP baseline: \(String(cString: strerror(errno)))") }
        defer { close(sender) }
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sender, $0, length) == 0 } }
        guard connected else { throw BenchmarkFailure("cannot connect for the TCP baseline: \(String(cString: strerror(errno)))") }
        let chunk = [UInt8](repeating: 0x5a, count: chunkBytes)
        let start = MonotonicClock.nanoseconds()
        var sent = 0
        while sent < bytes {
            let wanted = min(chunkBytes, bytes - sent)
            let count = chunk.withUnsafeBytes { send(sender, $0.baseAddress, wanted, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw BenchmarkFailure("the TCP baseline's send failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
        if let reader { pthread_join(reader, nil) }
        let (total, end) = received.value
        guard total == bytes else { throw BenchmarkFailure("the TCP baseline's reader got \(total) of \(bytes) bytes") }
        return Double(end &- start) / 1e9
    }

    /// What the reader thread saw, read once it is joined.
    private final class ReceivedBytes: @unchecked Sendable {
        private(set) var value: (Int, UInt64) = (0, 0)
        func set(_ total: Int, at nanoseconds: UInt64) { value = (total, nanoseconds) }
    }
}
