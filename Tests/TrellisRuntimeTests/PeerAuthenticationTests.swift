import Glibc
import NIOCore
import Testing
import TrellisCore
@testable import TrellisRuntime
import TrellisSystem
import TrellisWire

/// Connections between processes that hold a cluster key: the transport
/// under test (process 1) against a peer played over raw TCP, which proves
/// the key, proves a wrong one, proves none, or replays a handshake it saw;
/// and two runtimes that connect through a port, with the same key and with
/// different ones.
@Suite struct PeerAuthenticationTests {
    private static let key = try! ClusterKey(bytes: Array("the key both sides of this test hold".utf8))
    private static let otherKey = try! ClusterKey(bytes: Array("a key the transport under test does not".utf8))

    /// Connects to `transport`, reads its challenge and answers as process 2
    /// proving `key` (or nothing); gives back the socket, the acceptor's
    /// nonce, the opener's nonce and the hello's whole payload. The peer
    /// asks for sealed frames (`asksForSeals`), which a connection between
    /// loopback addresses otherwise goes without.
    private func open(
        to transport: SocketTransport, proving key: ClusterKey?, established: UInt64 = 0, asksForSeals: Bool = true
    ) throws -> (fd: Int32, acceptorNonce: [UInt8], openerNonce: [UInt8], hello: [UInt8]) {
        let fd = try RawPeer.connect(to: transport.localAddress)
        RawPeer.blocking(fd)
        pump(transport) { RawPeer.isReadable(fd) }
        let (challenge, acceptorNonce) = try RawPeer.readFrame(fd)
        #expect(challenge.kind == .challenge && challenge.aux == 1, "a transport with a key asks for one")
        let openerNonce = HandshakeProof.newNonce()
        let proof = HandshakeProof(acceptorNonce: acceptorNonce, openerNonce: openerNonce, opener: ProcessID(rawValue: 2), acceptor: ProcessID(rawValue: 1))
        let hello = openerNonce + (key.map(proof.openerCode) ?? [])
        RawPeer.write(fd, FrameHeader(kind: .hello, flags: asksForSeals ? .sealed : [], exchange: 2, aux: established), payload: hello)
        return (fd, acceptorNonce, openerNonce, hello)
    }

    /// `open`, proving the key, and the transport's acknowledgement read: a
    /// connection in use, with the seal of the frames process 2 sends on it.
    /// `established`: how many connections process 2 had with the transport before.
    private func openProven(
        to transport: SocketTransport, established: UInt64 = 0
    ) throws -> (fd: Int32, acceptorNonce: [UInt8], hello: [UInt8], seal: FrameSeal) {
        let peer = try open(to: transport, proving: Self.key, established: established)
        pump(transport) { RawPeer.isReadable(peer.fd) }
        let answer = try RawPeer.read(peer.fd)
        #expect(answer.kind == .helloAcknowledge && answer.tag == 1 && answer.flags.contains(.sealed))
        let proof = HandshakeProof(
            acceptorNonce: peer.acceptorNonce, openerNonce: peer.openerNonce, opener: ProcessID(rawValue: 2), acceptor: ProcessID(rawValue: 1))
        return (peer.fd, peer.acceptorNonce, peer.hello, FrameSeal(key: Self.key, proof: proof, direction: .openerToAcceptor))
    }

    /// Whether the transport refused the hello on `fd`: an acknowledgement
    /// that says so (tag 3) and proves nothing, then the end of the stream.
    private func refused(_ fd: Int32, _ transport: SocketTransport) throws -> Bool {
        pump(transport) { RawPeer.isReadable(fd) }
        let (answer, payload) = try RawPeer.readFrame(fd)
        return answer.kind == .helloAcknowledge && answer.tag == 3 && payload.isEmpty && closedWithoutAnswer(fd, transport)
    }

    /// Whether the transport closed `fd` without a word (end of stream, or a
    /// reset), rather than answer or wait.
    private func closedWithoutAnswer(_ fd: Int32, _ transport: SocketTransport) -> Bool {
        pump(transport) { RawPeer.isReadable(fd) }
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    @Test func aPeerThatProvesTheKeyIsTakenAndTheTransportProvesItBack() throws {
        let (transport, recorder) = try SocketTransportTests.transportOfProcess1(key: Self.key)
        defer { transport.shutdown() }
        let peer = try open(to: transport, proving: Self.key)
        defer { close(peer.fd) }
        pump(transport) { RawPeer.isReadable(peer.fd) }
        let (answer, code) = try RawPeer.readFrame(peer.fd)
        #expect(answer.kind == .helloAcknowledge && answer.tag == 1)
        let proof = HandshakeProof(
            acceptorNonce: peer.acceptorNonce, openerNonce: peer.openerNonce, opener: ProcessID(rawValue: 2), acceptor: ProcessID(rawValue: 1))
        #expect(proof.isAcceptorCode(code, Self.key), "the acknowledgement proves the transport holds the key")
        #expect(!proof.isAcceptorCode(code, Self.otherKey))
        #expect(!proof.isOpenerCode(code, Self.key), "an acceptor's proof is no opener's")
        var seal = FrameSeal(key: Self.key, proof: proof, direction: .openerToAcceptor)
        RawPeer.writeSealed(peer.fd, FrameHeader(kind: .eager, tag: 4), seal: &seal)
        pump(transport) { recorder.receivedTags.contains(4) }
        #expect(recorder.receivedTags == [4])
    }

    /// Between two loopback addresses the handshake proves the key and the
    /// frames go unsealed, unless either side asks (as a peer of another host always does).
    @Test func onLoopbackFramesGoUnsealedUnlessThePeerAsks() throws {
        let (transport, recorder) = try SocketTransportTests.transportOfProcess1(key: Self.key)
        defer { transport.shutdown() }
        let peer = try open(to: transport, proving: Self.key, asksForSeals: false)
        defer { close(peer.fd) }
        pump(transport) { RawPeer.isReadable(peer.fd) }
        let (answer, _) = try RawPeer.readFrame(peer.fd)
        #expect(answer.kind == .helloAcknowledge && answer.tag == 1 && !answer.flags.contains(.sealed))
        RawPeer.write(peer.fd, FrameHeader(kind: .eager, tag: 6))
        pump(transport) { recorder.receivedTags.contains(6) }
        #expect(recorder.receivedTags == [6], "an unsealed frame on an unsealed loopback connection is delivered")
        #expect(Sockets.isLoopback(peer.fd))
    }

    @Test func aPeerWithoutTheKeyOrWithAnotherIsRefusedAndOthersAreStillServed() throws {
        let (transport, recorder) = try SocketTransportTests.transportOfProcess1(key: Self.key)
        defer { transport.shutdown() }
        for key in [nil, Self.otherKey] {
            let intruder = try open(to: transport, proving: key)
            defer { close(intruder.fd) }
            #expect(try refused(intruder.fd, transport), "refused with \(key == nil ? "no key" : "another key")")
            RawPeer.write(intruder.fd, FrameHeader(kind: .eager, tag: 13))
            pump(transport, turns: 20) { false }
        }
        #expect(recorder.receivedTags.isEmpty, "nothing an intruder sent was delivered: \(recorder.receivedTags)")
        #expect(recorder.lost.isEmpty, "a refused intruder is nobody's loss: \(recorder.lost)")

        var peer = try openProven(to: transport)
        defer { close(peer.fd) }
        RawPeer.writeSealed(peer.fd, FrameHeader(kind: .eager, tag: 5), seal: &peer.seal)
        pump(transport) { recorder.receivedTags.contains(5) }
        #expect(recorder.receivedTags == [5])
    }

    /// After the handshake every frame carries the seal its place in the
    /// stream calls for: one without, one altered, one sent twice, one from
    /// another direction's counter each end the connection undelivered, and
    /// the transport goes on serving a peer whose frames hold.
    @Test func aFrameWhoseSealFailsEndsItsConnectionUndelivered() throws {
        let (transport, recorder) = try SocketTransportTests.transportOfProcess1(key: Self.key)
        defer { transport.shutdown() }
        let payload = Array("a payload the intruder changes".utf8)
        let forgeries: [(String, (Int32, inout FrameSeal) -> Void)] = [
            ("no seals", { fd, _ in
                // The transport takes the second frame's first bytes for the first one's seal.
                // A frame as a process without seals writes it: header and payload, nothing after.
                for _ in 0..<2 { RawPeer.write(fd, FrameHeader(kind: .eager, tag: 20), payload: payload) }
            }),
            ("an altered payload", { fd, seal in
                let header = FrameHeader(kind: .eager, tag: 21, payloadLength: UInt64(payload.count))
                let code = header.encoded().withUnsafeBytes { h in payload.withUnsafeBytes { seal.next(header: h, payload: $0) } }
                var altered = payload
                altered[0] ^= 1
                let bytes = header.encoded() + altered + code
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            }),
            ("an altered header", { fd, seal in
                let header = FrameHeader(kind: .eager, tag: 22, payloadLength: UInt64(payload.count))
                let code = header.encoded().withUnsafeBytes { h in payload.withUnsafeBytes { seal.next(header: h, payload: $0) } }
                var changed = header
                changed.tag = 23
                let bytes = changed.encoded() + payload + code
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            }),
            ("a frame sent twice", { fd, seal in
                var copy = seal
                RawPeer.writeSealed(fd, FrameHeader(kind: .eager, tag: 24), payload: payload, seal: &seal)
                RawPeer.writeSealed(fd, FrameHeader(kind: .eager, tag: 25), payload: payload, seal: &copy)
            }),
            ("a large frame sealed for the other direction", { fd, _ in
                var wrong = FrameSeal(key: Self.key, proof: HandshakeProof(
                    acceptorNonce: [], openerNonce: [], opener: ProcessID(rawValue: 2), acceptor: ProcessID(rawValue: 1)), direction: .acceptorToOpener)
                RawPeer.writeSealed(fd, FrameHeader(kind: .eager, tag: 26), payload: [UInt8](repeating: 9, count: 70_000), seal: &wrong)
            }),
            ("a chunk of a large frame altered", { fd, seal in
                let large = [UInt8](repeating: 3, count: FrameSeal.chunkBytes + 5_000)
                let header = FrameHeader(kind: .eager, tag: 27, payloadLength: UInt64(large.count))
                let code = header.encoded().withUnsafeBytes { h in large.withUnsafeBytes { seal.next(header: h, payload: $0) } }
                var altered = large
                altered[FrameSeal.chunkBytes + 10] ^= 4
                let bytes = header.encoded() + altered + code
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            }),
        ]
        for (index, (forgery, write)) in forgeries.enumerated() {
            var peer = try openProven(to: transport, established: UInt64(index))
            defer { close(peer.fd) }
            write(peer.fd, &peer.seal)
            #expect(closedWithoutAnswer(peer.fd, transport), "\(forgery): the connection ends")
            #expect(!recorder.receivedTags.contains { $0 >= 20 && $0 != 24 }, "\(forgery): nothing forged was delivered: \(recorder.receivedTags)")
        }
        #expect(recorder.receivedTags == [24], "the first of the frames sent twice held its seal")

        var peer = try openProven(to: transport, established: UInt64(forgeries.count))
        defer { close(peer.fd) }
        let large = (0..<(2 * FrameSeal.chunkBytes + 70_000)).map { UInt8(truncatingIfNeeded: $0) }
        RawPeer.writeSealed(peer.fd, FrameHeader(kind: .eager, tag: 6), payload: large, seal: &peer.seal)
        RawPeer.writeSealed(peer.fd, FrameHeader(kind: .eager, tag: 7), payload: payload, seal: &peer.seal)
        pump(transport) { recorder.receivedTags.contains(7) }
        #expect(recorder.receivedTags == [24, 6, 7], "a large frame (GMAC chunks) and a small one (HMAC) that hold their seals are delivered")
    }

    /// A recorded hello is bound to the nonce of the connection it answered:
    /// sent again on a new connection, it proves nothing.
    @Test func aReplayedHandshakeIsRefused() throws {
        let (transport, recorder) = try SocketTransportTests.transportOfProcess1(key: Self.key)
        defer { transport.shutdown() }
        let recorded = try openProven(to: transport)
        defer { close(recorded.fd) }
        shutdown(recorded.fd, Int32(SHUT_RDWR))
        pump(transport, turns: 20) { false }

        let replay = try RawPeer.connect(to: transport.localAddress)
        defer { close(replay) }
        RawPeer.blocking(replay)
        pump(transport) { RawPeer.isReadable(replay) }
        let (_, nonce) = try RawPeer.readFrame(replay)
        #expect(nonce != recorded.acceptorNonce, "every connection gets a fresh nonce")
        RawPeer.write(replay, FrameHeader(kind: .hello, exchange: 2), payload: recorded.hello)
        #expect(try refused(replay, transport))
        RawPeer.write(replay, FrameHeader(kind: .eager, tag: 21))
        pump(transport, turns: 20) { false }
        #expect(!recorder.receivedTags.contains(21))
    }

    /// Before its hello is proven a peer may send only handshake frames,
    /// and small ones: a message, or a huge announced length, ends the connection unread.
    @Test func framesBeforeTheHandshakeAreRefusedUnread() throws {
        let (transport, recorder) = try SocketTransportTests.transportOfProcess1(key: Self.key)
        defer { transport.shutdown() }
        for header in [FrameHeader(kind: .eager, tag: 8), FrameHeader(kind: .hello, payloadLength: 1 << 30, exchange: 2)] {
            let fd = try RawPeer.connect(to: transport.localAddress)
            defer { close(fd) }
            RawPeer.blocking(fd)
            pump(transport) { RawPeer.isReadable(fd) }
            _ = try RawPeer.readFrame(fd)
            let bytes = header.encoded()
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            #expect(closedWithoutAnswer(fd, transport), "\(header.kind) of \(header.payloadLength) bytes")
        }
        #expect(recorder.receivedTags.isEmpty && recorder.lost.isEmpty)
    }

    /// As opener, the transport sends nothing to an acceptor that asks for
    /// no key (it could be anyone) or that fails to prove the key, and
    /// reports the peer lost with the reason.
    @Test func theTransportTalksOnlyToAcceptorsThatProveTheKey() throws {
        for asksForKey in [false, true] {
            let (transport, recorder) = try SocketTransportTests.transportOfProcess1(key: Self.key)
            defer { transport.shutdown() }
            let peer = ProcessID(rawValue: 2)
            let listener = try RawPeer.listenAsProcess2(for: transport)
            defer { close(listener) }
            let accepted = try RawPeer.acceptConnection(from: transport, on: listener, sendingTag: 5)
            defer { close(accepted) }
            RawPeer.challenge(accepted, asksForKey: asksForKey)
            pump(transport) { !recorder.lost.isEmpty || RawPeer.isReadable(accepted) }
            if asksForKey {
                let (hello, _) = try RawPeer.readFrame(accepted)
                #expect(hello.kind == .hello && hello.payloadLength == UInt64(HandshakeProof.nonceBytes + HandshakeProof.codeBytes))
                // An acknowledgement whose proof is made with another key.
                RawPeer.write(accepted, FrameHeader(kind: .helloAcknowledge, tag: 1, exchange: 2), payload: HandshakeProof.newNonce())
                pump(transport) { !recorder.lost.isEmpty }
            }
            #expect(recorder.lost == [peer], "asks for a key: \(asksForKey)")
            #expect(recorder.lostErrors.first?.code == .authenticationFailed, "\(recorder.lostErrors)")
            var sawMessage = false
            while let (header, _) = try? RawPeer.readFrame(accepted) { sawMessage = sawMessage || header.kind == .eager }
            #expect(!sawMessage, "no message went to an acceptor that proved nothing")
        }
    }

    /// Two runtimes (real TCP, each with its progress engine) connect through
    /// a port when they hold the same key, and not when they hold different ones
    /// or only one holds a key.
    @Test func runtimesConnectOnlyWhenTheyHoldTheSameKey() throws {
        let cases: [(ClusterKey?, ClusterKey?, Bool)] = [(Self.key, Self.key, true), (Self.key, Self.otherKey, false), (Self.key, nil, false), (nil, Self.key, false)]
        for (serverKey, clientKey, connects) in cases {
            let server = try Runtime.initialize(asSingleton: true, authentication: serverKey.map { .key($0) } ?? .none)
            defer { try? server.finalize() }
            let client = try Runtime.initialize(asSingleton: true, authentication: clientKey.map { .key($0) } ?? .none)
            defer { try? client.finalize() }
            let port = server.openPort()
            defer { port.close() }
            let accepting = try server.selfCommunicator.iaccept(port)
            let connecting = Result { try client.selfCommunicator.connect(to: port.name.description, deadline: .after(seconds: connects ? 30 : 3)) }
            if connects {
                let toServer = try connecting.get()
                let toClient = try accepting.wait(deadline: .after(seconds: 30))
                try toServer.send([UInt64(42)], to: 0, tag: 1)
                let message = try toClient.receive(from: .rank(0), tag: .tag(1), deadline: .after(seconds: 30))
                #expect(message.payload.readableBytes == 8)
                // Large enough to go by rendezvous, straight into the receiver's buffer, and to be sealed by GMAC.
                let large = (0..<300_000).map { UInt64($0) }
                let sending = try toClient.isend(ByteBuffer(wireValues: large), to: 0, tag: 2)
                let back = try toServer.receive(from: .rank(0), tag: .tag(2), deadline: .after(seconds: 30))
                try sending.wait(deadline: .after(seconds: 30))
                #expect(try back.values(of: UInt64.self) == large)
                _ = toServer.idisconnect()
                _ = toClient.idisconnect()
            } else {
                #expect(throws: TrellisError.self, "server key \(serverKey != nil), client key \(clientKey != nil)") { try connecting.get() }
                #expect(!accepting.isComplete, "the server accepted no one")
                accepting.cancel()
            }
        }
    }
}
