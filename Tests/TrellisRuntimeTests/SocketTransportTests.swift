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
        let (transport, recorder) = try Self.transportOfProcess1()
        defer { transport.shutdown() }
        let peer = ProcessID(rawValue: 2)
        let listener = try RawPeer.listenAsProcess2(for: transport)
        defer { close(listener) }

        // The peer's own connection attempt, whose hello the transport reads last.
        let leftover = try RawPeer.connect(to: transport.localAddress)
        defer { close(leftover) }

        let winner = try RawPeer.acceptConnection(from: transport, on: listener, sendingTag: 5)
        defer { close(winner) }
        RawPeer.challenge(winner)
        pump(transport) { RawPeer.isReadable(winner) }
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

        RawPeer.blocking(leftover)
        try RawPeer.answerChallenge(leftover, with: FrameHeader(kind: .hello, exchange: 2, aux: 0))
        pump(transport) { RawPeer.isReadable(leftover) }
        let answer = try RawPeer.read(leftover)
        #expect(answer.kind == .helloAcknowledge && answer.tag == 2 && answer.aux == 1, "the leftover hello must be refused, with the count it is behind")
        // Shut down, not closed: the number stays this test's until its defer, so no other test's socket can get it and be closed too.
        shutdown(leftover, Int32(SHUT_RDWR))
        pump(transport, turns: 20) { false }
        #expect(recorder.lost.isEmpty, "a refused leftover is no loss: \(recorder.lost)")

        let reopened = try RawPeer.connect(to: transport.localAddress)
        defer { close(reopened) }
        RawPeer.blocking(reopened)
        pump(transport) { RawPeer.isReadable(reopened) }
        try RawPeer.answerChallenge(reopened, with: FrameHeader(kind: .hello, exchange: 2, aux: 1))
        pump(transport) { RawPeer.isReadable(reopened) }
        let accepted = try RawPeer.read(reopened)
        #expect(accepted.kind == .helloAcknowledge && accepted.tag == 1, "a hello that counts the first connection opens a new one")
        RawPeer.write(reopened, FrameHeader(kind: .eager, tag: 9))
        pump(transport) { recorder.receivedTags.contains(9) }
        #expect(recorder.lost.isEmpty)
    }

    /// A peer that lost its connection to this process while this side did
    /// not notice (a cut link: this side's retransmissions went nowhere yet)
    /// connects again, counting every connection this side counted: the new
    /// connection replaces the old one, whose loss is reported as one to the
    /// network (the peer may be reached again), and frames take the new one.
    @Test func aPeerThatConnectsAgainReplacesAConnectionThisSideStillHolds() throws {
        let (transport, recorder) = try Self.transportOfProcess1()
        defer { transport.shutdown() }
        let peer = ProcessID(rawValue: 2)

        let first = try RawPeer.connect(to: transport.localAddress)
        defer { close(first) }
        RawPeer.blocking(first)
        pump(transport) { RawPeer.isReadable(first) }
        try RawPeer.answerChallenge(first, with: FrameHeader(kind: .hello, exchange: 2, aux: 0))
        pump(transport) { RawPeer.isReadable(first) }
        #expect(try RawPeer.read(first).tag == 1)
        RawPeer.write(first, FrameHeader(kind: .eager, tag: 5))
        pump(transport) { recorder.receivedTags.contains(5) }

        let second = try RawPeer.connect(to: transport.localAddress)
        defer { close(second) }
        RawPeer.blocking(second)
        pump(transport) { RawPeer.isReadable(second) }
        try RawPeer.answerChallenge(second, with: FrameHeader(kind: .hello, exchange: 2, aux: 1))
        pump(transport) { RawPeer.isReadable(second) }
        let answer = try RawPeer.read(second)
        #expect(answer.kind == .helloAcknowledge && answer.tag == 1, "the peer's new connection is taken")
        #expect(recorder.lost == [peer], "the connection it gave up is lost")
        #expect((recorder.lostErrors.first?.underlying as? SystemCallError)?.errno == ETIMEDOUT, "\(recorder.lostErrors)")
        try transport.send(OutgoingFrame(header: FrameHeader(kind: .eager, tag: 7)), to: peer)
        pump(transport) { !transport.hasUnsentFrames }
        #expect(try RawPeer.read(second).tag == 7)
    }

    /// The peer established a connection whose acknowledgement never reached
    /// this side (a link cut mid-handshake), so it counts one connection
    /// more. It refuses this side's next hello as stale and says how many it
    /// counts: this side catches up and connects again, and its frames go.
    @Test func aHelloRefusedForALostAcknowledgementIsSentAgainCaughtUp() throws {
        let (transport, recorder) = try Self.transportOfProcess1()
        defer { transport.shutdown() }
        let listener = try RawPeer.listenAsProcess2(for: transport)
        defer { close(listener) }

        let refused = try RawPeer.acceptConnection(from: transport, on: listener, sendingTag: 5)
        defer { close(refused) }
        RawPeer.challenge(refused)
        pump(transport) { RawPeer.isReadable(refused) }
        #expect(try RawPeer.read(refused).aux == 0)
        RawPeer.write(refused, FrameHeader(kind: .helloAcknowledge, tag: 2, exchange: 2, aux: 3))
        pump(transport, turns: 20) { false }

        var again: Int32 = -1
        pump(transport) { again = accept(listener, nil, nil); return again >= 0 }
        defer { close(again) }
        RawPeer.blocking(again)
        RawPeer.challenge(again)
        pump(transport) { RawPeer.isReadable(again) }
        let hello = try RawPeer.read(again)
        #expect(hello.kind == .hello && hello.aux == 3, "the new hello counts what the peer counted")
        RawPeer.write(again, FrameHeader(kind: .helloAcknowledge, tag: 1, exchange: 2))
        pump(transport) { !transport.hasUnsentFrames }
        #expect(try RawPeer.read(again).tag == 5)
        #expect(recorder.lost.isEmpty, "\(recorder.lostErrors)")
    }

    /// The peer turned the connection down for one of its own (a crossed
    /// handshake), whose hello then never comes (its SYN was lost to a cut
    /// link, say): after the patience the transport connects again, and
    /// the frames that waited go out on the new connection.
    @Test func aConnectionTurnedDownForAHelloThatNeverComesIsOpenedAgain() throws {
        let (transport, recorder) = try Self.transportOfProcess1()
        defer { transport.shutdown() }
        transport.rejectedPatienceNanoseconds = 200_000_000
        let listener = try RawPeer.listenAsProcess2(for: transport)
        defer { close(listener) }

        let turnedDown = try RawPeer.acceptConnection(from: transport, on: listener, sendingTag: 5)
        defer { close(turnedDown) }
        RawPeer.challenge(turnedDown)
        pump(transport) { RawPeer.isReadable(turnedDown) }
        #expect(try RawPeer.read(turnedDown).kind == .hello)
        RawPeer.write(turnedDown, FrameHeader(kind: .helloAcknowledge, tag: 0, exchange: 2))

        var again: Int32 = -1
        pump(transport) { again = accept(listener, nil, nil); return again >= 0 }
        #expect(again >= 0, "the transport connected again")
        defer { close(again) }
        RawPeer.blocking(again)
        RawPeer.challenge(again)
        pump(transport) { RawPeer.isReadable(again) }
        #expect(try RawPeer.read(again).kind == .hello)
        RawPeer.write(again, FrameHeader(kind: .helloAcknowledge, tag: 1, exchange: 2))
        pump(transport) { !transport.hasUnsentFrames }
        #expect(try RawPeer.read(again).tag == 5, "the frame that waited went out on the new connection")
        #expect(recorder.lost.isEmpty, "\(recorder.lostErrors)")
    }

    /// The transport under test, as process 1, with a delegate that records what it is told.
    static func transportOfProcess1(key: ClusterKey? = nil) throws -> (SocketTransport, RecordingDelegate) {
        let recorder = RecordingDelegate()
        let transport = try SocketTransport(
            localID: ProcessID(rawValue: 1), host: "127.0.0.1", maximumMessageBytes: 1 << 20, key: key, logger: Logger(label: "test"))
        transport.delegate = recorder
        return (transport, recorder)
    }
}

/// Turns the transport's event loop until `done` holds or about ten seconds pass.
func pump(_ transport: SocketTransport, turns: Int = 1000, until done: () -> Bool) {
    for _ in 0..<turns {
        transport.handleEvents(transport.waitForEvents(timeoutMilliseconds: 10))
        if done() { return }
    }
}

final class RecordingDelegate: TransportDelegate {
    var lost: [ProcessID] = []
    var lostErrors: [TrellisError] = []
    var releasedClosed: [ProcessID] = []
    var receivedTags: [Int32] = []

    func transport(destinationFor header: FrameHeader, from peer: ProcessID) -> ByteBuffer? { nil }
    func transport(received header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) { receivedTags.append(header.tag) }
    func transport(wrote frame: OutgoingFrame) {}
    func transport(releasedConnectionClosed peer: ProcessID) { releasedClosed.append(peer) }
    func transport(lost peer: ProcessID, error: TrellisError, unsent: [OutgoingFrame], orderly: Bool) {
        lost.append(peer)
        lostErrors.append(error)
    }
}

/// The peer's side: blocking sockets and whole frames.
enum RawPeer {
    static func connect(to address: String) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard IPv4Address.connect(fd, to: try IPv4Address.parse(address)) == 0 else {
            close(fd)
            throw TrellisError(.connectionFailed, "cannot connect to \(address)")
        }
        return fd
    }

    /// A listening socket the transport knows as process 2's address.
    static func listenAsProcess2(for transport: SocketTransport) throws -> Int32 {
        let listener = try Sockets.listen(host: "127.0.0.1")
        transport.setAddress(listener.address, for: ProcessID(rawValue: 2))
        return listener.fd
    }

    /// Gives the transport a message (tag `tag`) for process 2 and accepts,
    /// blocking, the connection it opens to send it.
    static func acceptConnection(from transport: SocketTransport, on listener: Int32, sendingTag tag: Int32) throws -> Int32 {
        try transport.send(OutgoingFrame(header: FrameHeader(kind: .eager, tag: tag)), to: ProcessID(rawValue: 2))
        var accepted: Int32 = -1
        pump(transport) { accepted = accept(listener, nil, nil); return accepted >= 0 }
        guard accepted >= 0 else { throw TrellisError(.connectionFailed, "the transport did not connect to process 2") }
        blocking(accepted)
        return accepted
    }

    /// Whether a read of `fd` would not block (bytes, end of stream or an error wait).
    static func isReadable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    static func blocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    static func write(_ fd: Int32, _ header: FrameHeader, payload: [UInt8] = []) {
        var header = header
        header.payloadLength = UInt64(payload.count)
        let bytes = header.encoded() + payload
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// A frame as a keyed process writes it after the handshake: header, payload, the seal `seal` makes next.
    static func writeSealed(_ fd: Int32, _ header: FrameHeader, payload: [UInt8] = [], seal: inout FrameSeal) {
        var header = header
        header.payloadLength = UInt64(payload.count)
        let encoded = header.encoded()
        let code = encoded.withUnsafeBytes { headerBytes in payload.withUnsafeBytes { seal.next(header: headerBytes, payload: $0) } }
        let bytes = encoded + payload + code
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Speaks first, as an acceptor does: a nonce, and whether a key is asked for.
    @discardableResult
    static func challenge(_ fd: Int32, asksForKey: Bool = false) -> [UInt8] {
        let nonce = HandshakeProof.newNonce()
        write(fd, FrameHeader(kind: .challenge, exchange: 2, aux: asksForKey ? 1 : 0), payload: nonce)
        return nonce
    }

    /// Reads the acceptor's challenge and sends `hello` with a nonce (and
    /// `proof`'s code when given one); gives back the challenge.
    @discardableResult
    static func answerChallenge(_ fd: Int32, with hello: FrameHeader, extra: [UInt8] = []) throws -> (header: FrameHeader, nonce: [UInt8]) {
        let (challenge, nonce) = try readFrame(fd)
        guard challenge.kind == .challenge else { throw TrellisError(.protocolViolation, "expected a challenge, got \(challenge.kind)") }
        write(fd, hello, payload: HandshakeProof.newNonce() + extra)
        return (challenge, nonce)
    }

    /// The next frame's header, its payload read and dropped.
    static func read(_ fd: Int32) throws -> FrameHeader { try readFrame(fd).header }

    static func readFrame(_ fd: Int32) throws -> (header: FrameHeader, payload: [UInt8]) {
        let header = try FrameHeader.decode(readBytes(fd, FrameHeader.byteCount))
        return (header, try readBytes(fd, Int(header.payloadLength)))
    }

    static func readBytes(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, $0.count - offset, 0) }
            guard count > 0 else { throw TrellisError(.peerFailed, "the transport closed or went silent after \(offset) bytes") }
            offset += count
        }
        return bytes
    }
}
