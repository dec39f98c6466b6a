import Glibc
import Logging
import NIOCore
import Testing
import TrellisCore
@testable import TrellisRuntime
import TrellisWire
import TrellisSystem

/// The socket transport against a peer played by the test over raw TCP, so
/// that frames arrive in exactly the order a race would deliver them.
@Suite struct SocketTransportTests {
    /// Both processes connect at once; the transport (smaller id) keeps its
    /// own connection, uses it, and lets it go. Only then does the peer's
    /// hello on the connection it had opened and abandoned get read. That
    /// hello is a leftover, not a new connection: it is refused, and its
    /// close is no loss. A later hello that counts the first connection is
    /// a real reopen and is taken.
    @Test func aCrossedHandshakesLeftoverHelloIsRefusedAfterTheWinnerIsGone() throws {
        let recorder = RecordingDelegate()
        let transport = try SocketTransport(localID: ProcessID(rawValue: 1), host: "127.0.0.1", maximumMessageBytes: 1 << 20, logger: Logger(label: "test"))
        transport.delegate = recorder
        defer { transport.shutdown() }
        let peer = ProcessID(rawValue: 2)
        let listener = try Sockets.listen(host: "127.0.0.1")
        defer { close(listener.fd) }
        transport.setAddress(listener.address, for: peer)

        // The peer's own connection attempt, whose hello the transport reads last.
        let leftover = try RawPeer.connect(to: transport.localAddress)
        defer { close(leftover) }

        try transport.send(OutgoingFrame(header: FrameHeader(kind: .eager, tag: 5)), to: peer)
        var winner: Int32 = -1
        pump(transport) { winner = accept(listener.fd, nil, nil); return winner >= 0 }
        defer { close(winner) }
        RawPeer.blocking(winner)
        let hello = try RawPeer.read(winner)
        #expect(hello.kind == .hello && hello.exchange == 1 && hello.aux == 0)
        RawPeer.write(winner, FrameHeader(kind: .helloAcknowledge, tag: 1, exchange: 2))
        pump(transport) { !transport.hasUnsentFrames }
        #expect(try RawPeer.read(winner).tag == 5)

        transport.release(peer)
        pump(transport) { !transport.hasUnsentFrames }
        let goodbye = try RawPeer.read(winner)
        #expect(goodbye.kind == .goodbye && goodbye.tag == 1)
        RawPeer.write(winner, FrameHeader(kind: .goodbye, tag: 1))
        shutdown(winner, Int32(SHUT_WR))
        pump(transport) { recorder.releasedClosed.contains(peer) }

        RawPeer.write(leftover, FrameHeader(kind: .hello, exchange: 2, aux: 0))
        RawPeer.blocking(leftover)
        pump(transport, turns: 20) { false }
        let answer = try RawPeer.read(leftover)
        #expect(answer.kind == .helloAcknowledge && answer.tag == 0, "the leftover hello must be refused")
        close(leftover)
        pump(transport, turns: 20) { false }
        #expect(recorder.lost.isEmpty, "a refused leftover is no loss: \(recorder.lost)")

        let reopened = try RawPeer.connect(to: transport.localAddress)
        defer { close(reopened) }
        RawPeer.write(reopened, FrameHeader(kind: .hello, exchange: 2, aux: 1))
        RawPeer.blocking(reopened)
        pump(transport, turns: 20) { false }
        let accepted = try RawPeer.read(reopened)
        #expect(accepted.kind == .helloAcknowledge && accepted.tag == 1, "a hello that counts the first connection opens a new one")
        RawPeer.write(reopened, FrameHeader(kind: .eager, tag: 9))
        pump(transport) { recorder.receivedTags.contains(9) }
        #expect(recorder.lost.isEmpty)
    }

    /// Turns the transport's event loop until `done` holds or about ten seconds pass.
    private func pump(_ transport: SocketTransport, turns: Int = 1000, until done: () -> Bool) {
        for _ in 0..<turns {
            transport.handleEvents(transport.waitForEvents(timeoutMilliseconds: 10))
            if done() { return }
        }
    }
}

private final class RecordingDelegate: TransportDelegate {
    var lost: [ProcessID] = []
    var releasedClosed: [ProcessID] = []
    var receivedTags: [Int32] = []

    func transport(destinationFor header: FrameHeader, from peer: ProcessID) -> ByteBuffer? { nil }
    func transport(received header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) { receivedTags.append(header.tag) }
    func transport(wrote frame: OutgoingFrame) {}
    func transport(releasedConnectionClosed peer: ProcessID) { releasedClosed.append(peer) }
    func transport(lost peer: ProcessID, error: TrellisError, unsent: [OutgoingFrame], orderly: Bool) { lost.append(peer) }
}

/// The peer's side: blocking sockets and whole frame headers.
private enum RawPeer {
    static func connect(to address: String) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard IPv4Address.connect(fd, to: try IPv4Address.parse(address)) == 0 else {
            close(fd)
            throw TrellisError(.connectionFailed, "cannot connect to \(address)")
        }
        return fd
    }

    static func blocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    static func write(_ fd: Int32, _ header: FrameHeader) {
        let bytes = header.encoded()
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func read(_ fd: Int32) throws -> FrameHeader {
        var bytes = [UInt8](repeating: 0, count: FrameHeader.byteCount)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
            guard count > 0 else { throw TrellisError(.peerFailed, "the transport closed or went silent after \(offset) bytes") }
            offset += count
        }
        return try FrameHeader.decode(bytes)
    }
}
