import Glibc
import TrellisCore
import TrellisSystem

/// Reads an endpoint's `/metrics` over plain HTTP/1.0 (one request, one
/// connection, as a Prometheus scrape does), for `trellis fs top` and tests.
public enum MetricsScrape {
    /// The samples at `http://address/metrics`; throws naming the address when it does not answer within `timeoutSeconds`.
    public static func fetch(_ address: String, timeoutSeconds: Double = 5) throws -> [MetricSample] {
        MetricSample.parse(try fetchText(address, timeoutSeconds: timeoutSeconds))
    }

    /// The body at `http://address/metrics`, headers removed. Each send and
    /// receive waits up to `timeoutSeconds`; throws `connectionFailed` when the
    /// endpoint cannot be reached and `protocolViolation` when it answers other
    /// than 200.
    public static func fetchText(_ address: String, timeoutSeconds: Double = 5) throws -> String {
        let socketAddress = try IPv4Address.parse(address)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("socket", address) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard IPv4Address.connect(fd, to: socketAddress) == 0 else { throw failure("connect", address) }
        let request = Array("GET /metrics HTTP/1.0\r\nHost: \(address)\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw failure("send", address)
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw failure("receive", address) }
            response.append(contentsOf: chunk[0..<count])
        }
        let blankLine: [UInt8] = [13, 10, 13, 10]
        guard let split = response.indices.dropLast(3).first(where: { response[$0..<$0 + 4].elementsEqual(blankLine) }) else {
            throw TrellisError(.protocolViolation, "http://\(address)/metrics answered something that is not HTTP")
        }
        let status = String(decoding: response[..<split].prefix { $0 != 13 }, as: UTF8.self)
        guard status.split(separator: " ").dropFirst().first == "200" else {
            throw TrellisError(.protocolViolation, "http://\(address)/metrics answered '\(status)'")
        }
        return String(decoding: response[(split + 4)...], as: UTF8.self)
    }

    private static func failure(_ call: String, _ address: String) -> TrellisError {
        TrellisError(.connectionFailed, "metrics at \(address): \(call) failed: \(String(cString: strerror(errno)))")
    }
}
