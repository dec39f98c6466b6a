import Testing
import TrellisCore
@testable import TrellisRuntime
import TrellisWire

/// The seals of one direction of a connection: what one side makes the
/// other checks, in order, for small frames (HMAC-SHA256) and large ones
/// (GMAC); any change to the header, the payload, the order, the key, the
/// handshake or the direction fails.
@Suite struct FrameSealTests {
    private static let key = try! ClusterKey(bytes: Array("a key for the seals of this test".utf8))
    private static let proof = HandshakeProof(
        acceptorNonce: HandshakeProof.newNonce(), openerNonce: HandshakeProof.newNonce(), opener: ProcessID(rawValue: 7), acceptor: ProcessID(rawValue: 9))

    private static func seal(_ seal: inout FrameSeal, _ header: [UInt8], _ payload: [UInt8]) -> [UInt8] {
        header.withUnsafeBytes { h in payload.withUnsafeBytes { seal.next(header: h, payload: $0) } }
    }

    private static func holds(_ seal: inout FrameSeal, _ code: [UInt8], _ header: [UInt8], _ payload: [UInt8]) -> Bool {
        code.withUnsafeBytes { c in header.withUnsafeBytes { h in payload.withUnsafeBytes { seal.isNext(c, header: h, payload: $0) } } }
    }

    private static let sizes = [0, 1, FrameSeal.largestHashedPayload, FrameSeal.largestHashedPayload + 1, FrameSeal.chunkBytes, 1 << 20, (1 << 20) + 17]

    @Test(arguments: sizes) func whatOneSideSealsTheOtherChecksInOrder(size: Int) {
        var sender = FrameSeal(key: Self.key, proof: Self.proof, direction: .openerToAcceptor)
        let header = FrameHeader(kind: .eager, tag: 3, payloadLength: UInt64(size)).encoded()
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let first = Self.seal(&sender, header, payload)
        let second = Self.seal(&sender, header, payload)
        #expect(first.count == FrameSeal.byteCount)
        #expect(first != second, "the same frame again is sealed differently: its number differs")
        var receiver = FrameSeal(key: Self.key, proof: Self.proof, direction: .openerToAcceptor)
        #expect(Self.holds(&receiver, first, header, payload))
        #expect(!Self.holds(&receiver, first, header, payload), "a frame sent twice fails the second time")
        var another = FrameSeal(key: Self.key, proof: Self.proof, direction: .openerToAcceptor)
        #expect(!Self.holds(&another, second, header, payload), "the second frame's seal is not the first's")
        // Checked as it arrives, in pieces of every size, the payload gives the same seal.
        var pieces = FrameSeal(key: Self.key, proof: Self.proof, direction: .openerToAcceptor)
        var running = header.withUnsafeBytes { pieces.begin(header: $0, payloadLength: size) }
        var arrived = 0
        var step = 1
        payload.withUnsafeBytes { bytes in
            while arrived < size {
                arrived = min(size, arrived + step)
                step = step * 7 + 3
                running.take(from: bytes, available: arrived)
            }
            running.take(from: bytes, available: size)
        }
        #expect(running.isComplete && first.withUnsafeBytes { running.holds($0) })
    }

    @Test(arguments: sizes) func anyChangeFailsTheSeal(size: Int) {
        var sender = FrameSeal(key: Self.key, proof: Self.proof, direction: .acceptorToOpener)
        let header = FrameHeader(kind: .eager, tag: 3, payloadLength: UInt64(size)).encoded()
        let payload = [UInt8](repeating: 5, count: size)
        let code = Self.seal(&sender, header, payload)
        var changedHeader = header
        changedHeader[4] ^= 0x80
        var changedPayload = payload
        if size > 0 { changedPayload[size / 2] ^= 1 }
        let otherProof = HandshakeProof(acceptorNonce: HandshakeProof.newNonce(), openerNonce: Self.proof.openerNonce, opener: Self.proof.opener, acceptor: Self.proof.acceptor)
        let otherKey = try! ClusterKey(bytes: Array("another key altogether, for this test".utf8))
        let checks: [(String, FrameSeal, [UInt8], [UInt8])] = [
            ("a changed header", FrameSeal(key: Self.key, proof: Self.proof, direction: .acceptorToOpener), changedHeader, payload),
            ("the other direction", FrameSeal(key: Self.key, proof: Self.proof, direction: .openerToAcceptor), header, payload),
            ("another connection", FrameSeal(key: Self.key, proof: otherProof, direction: .acceptorToOpener), header, payload),
            ("another key", FrameSeal(key: otherKey, proof: Self.proof, direction: .acceptorToOpener), header, payload),
        ] + (size > 0 ? [("a changed payload", FrameSeal(key: Self.key, proof: Self.proof, direction: .acceptorToOpener), header, changedPayload)] : [])
        for (change, receiver, checkedHeader, checkedPayload) in checks {
            var receiver = receiver
            #expect(!Self.holds(&receiver, code, checkedHeader, checkedPayload), "\(change), \(size) bytes")
        }
        var receiver = FrameSeal(key: Self.key, proof: Self.proof, direction: .acceptorToOpener)
        #expect(Self.holds(&receiver, code, header, payload), "unchanged, it holds")
    }
}
