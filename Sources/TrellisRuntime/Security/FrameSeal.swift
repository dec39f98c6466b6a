import Crypto
import TrellisCore

/// The message authentication code that follows the payload of every frame
/// on a connection whose two processes proved they hold the cluster key:
/// without it, anyone who could rewrite an established TCP stream could
/// change what the handshake let through. One seal per direction of a
/// connection; each frame takes the next number of a counter that is part
/// of what is authenticated and never sent, so a frame dropped, repeated or
/// moved to another place in the stream, or to another connection, fails
/// its check.
///
/// A seal is HMAC-SHA256 (from pads keyed once per connection, truncated to
/// 16 bytes) over the frame's number, its header, and then either its
/// payload, for payloads of at most `largestHashedPayload` bytes, or the
/// GMAC tags of its payload's chunks of `chunkBytes` (AES-GCM with the chunk
/// as its only, additional, data and the frame's number and the chunk's as
/// nonce), where GHASH runs at about ten times SHA-256's rate. The sender
/// seals each chunk just before it writes it and the receiver checks each
/// just after it reads it, while the bytes are in the cache and while the
/// other side is busy with the next chunk (decision 0010 measures why).
/// The payload length is in the authenticated header, so which way a frame
/// is sealed is authenticated too; the two codes have keys of their own,
/// derived from the cluster key and both handshake nonces.
struct FrameSeal {
    /// Bytes of a seal on the wire, right after the frame's payload.
    static let byteCount = 16
    /// Frames with at most this many payload bytes are hashed whole; larger ones chunk by chunk.
    static let largestHashedPayload = 1024
    /// Payload bytes under one GMAC tag.
    static let chunkBytes = 256 * 1024

    enum Direction: String {
        case openerToAcceptor = "opener to acceptor"
        case acceptorToOpener = "acceptor to opener"
    }

    private let innerPad: SHA256
    private let outerPad: SHA256
    private let gmacKey: SymmetricKey
    private var counter: UInt64 = 0

    /// The seal of one direction of the connection whose handshake `proof` describes.
    init(key: ClusterKey, proof: HandshakeProof, direction: Direction) {
        let salt = proof.acceptorNonce + proof.openerNonce
        func derived(_ purpose: String, bytes: Int) -> SymmetricKey {
            let info = Array("trellis frames \(direction.rawValue) \(proof.opener.rawValue) \(proof.acceptor.rawValue): \(purpose)".utf8)
            return HKDF<SHA256>.deriveKey(inputKeyMaterial: key.symmetricKey, salt: salt, info: info, outputByteCount: bytes)
        }
        let hashKey = derived("hmac-sha256", bytes: 64)
        var inner = SHA256()
        var outer = SHA256()
        hashKey.withUnsafeBytes { bytes in
            inner.update(data: bytes.map { $0 ^ 0x36 })
            outer.update(data: bytes.map { $0 ^ 0x5c })
        }
        innerPad = inner
        outerPad = outer
        gmacKey = derived("gmac", bytes: 16)
    }

    /// The seal of one frame, made (or checked) as its payload goes by.
    struct Running {
        let payloadLength: Int
        /// Payload bytes taken so far.
        private(set) var through = 0
        private var inner: SHA256
        private let outer: SHA256
        private let gmacKey: SymmetricKey
        private let number: UInt64

        fileprivate init(number: UInt64, header: UnsafeRawBufferPointer, payloadLength: Int, inner: SHA256, outer: SHA256, gmacKey: SymmetricKey) {
            self.number = number
            self.payloadLength = payloadLength
            self.inner = inner
            self.outer = outer
            self.gmacKey = gmacKey
            withUnsafeBytes(of: number.littleEndian) { self.inner.update(bufferPointer: $0) }
            self.inner.update(bufferPointer: header)
        }

        var isComplete: Bool { through == payloadLength }

        /// How many payload bytes the next `take` wants: the whole of a hashed
        /// payload, else the next chunk.
        var nextPieceBytes: Int {
            payloadLength <= FrameSeal.largestHashedPayload ? payloadLength - through : min(FrameSeal.chunkBytes, payloadLength - through)
        }

        /// Takes the next `nextPieceBytes` bytes of the payload.
        mutating func take(_ piece: UnsafeRawBufferPointer) {
            precondition(piece.count == nextPieceBytes && !isComplete, "a seal takes its payload piece by piece, in order")
            if payloadLength <= FrameSeal.largestHashedPayload {
                inner.update(bufferPointer: piece)
            } else {
                var nonce = [UInt8](repeating: 0, count: 12)
                withUnsafeBytes(of: number.littleEndian) { nonce.replaceSubrange(0..<8, with: $0) }
                withUnsafeBytes(of: UInt32(through / FrameSeal.chunkBytes).littleEndian) { nonce.replaceSubrange(8..<12, with: $0) }
                // A 12-byte nonce is always valid, and sealing with a 16-byte key cannot fail.
                let tag = try! AES.GCM.seal([UInt8](), using: gmacKey, nonce: AES.GCM.Nonce(data: nonce), authenticating: piece).tag
                tag.withUnsafeBytes { inner.update(bufferPointer: $0) }
            }
            through += piece.count
        }

        /// Takes every whole piece among the first `available` bytes at `payload` not taken yet.
        mutating func take(from payload: UnsafeRawBufferPointer, available: Int) {
            while !isComplete, through + nextPieceBytes <= available {
                take(UnsafeRawBufferPointer(rebasing: payload[through..<through + nextPieceBytes]))
            }
        }

        /// The seal, once the whole payload is taken.
        func finish() -> [UInt8] {
            precondition(isComplete, "a seal is finished after its whole payload")
            var outer = outer
            inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
            return Array(outer.finalize().prefix(FrameSeal.byteCount))
        }

        /// Whether `seal` is this frame's, compared in constant time.
        func holds(_ seal: UnsafeRawBufferPointer) -> Bool {
            let expected = finish()
            guard seal.count == FrameSeal.byteCount else { return false }
            var difference: UInt8 = 0
            for index in 0..<FrameSeal.byteCount { difference |= expected[index] ^ seal[index] }
            return difference == 0
        }
    }

    /// Starts the seal of the next frame in this direction.
    mutating func begin(header: UnsafeRawBufferPointer, payloadLength: Int) -> Running {
        defer { counter &+= 1 }
        return Running(number: counter, header: header, payloadLength: payloadLength, inner: innerPad, outer: outerPad, gmacKey: gmacKey)
    }

    /// The seal of the next frame, whose encoded header and whole payload are given.
    mutating func next(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> [UInt8] {
        var running = begin(header: header, payloadLength: payload.count)
        running.take(from: payload, available: payload.count)
        return running.finish()
    }

    /// Whether `seal` is the next frame's.
    mutating func isNext(_ seal: UnsafeRawBufferPointer, header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> Bool {
        var running = begin(header: header, payloadLength: payload.count)
        running.take(from: payload, available: payload.count)
        return running.holds(seal)
    }
}
