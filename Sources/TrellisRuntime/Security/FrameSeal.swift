import Crypto
import TrellisCore

/// The message authentication code that follows the header of every frame
/// on a connection whose two processes proved they hold the cluster key:
/// without it, anyone who could rewrite an established TCP stream could
/// change what the handshake let through. One seal per direction of a
/// connection; each frame takes the next number of a counter that is part
/// of what is authenticated and never sent, so a frame dropped, repeated or
/// moved to another place in the stream, or to another connection, fails
/// its check.
///
/// Two codes, by payload size, measured in decision 0010: HMAC-SHA256 from
/// pads keyed once per connection for small frames, where GMAC's per-call
/// set-up costs more than hashing a few hundred bytes; GMAC (AES-GCM
/// sealing the header as its only plaintext, the payload as additional
/// data) for large ones, where GHASH runs at about ten times SHA-256's rate.
/// The payload length is part of the authenticated header, so which code
/// a frame carries is authenticated too; each has its own key, derived from
/// the cluster key and both handshake nonces.
struct FrameSeal {
    /// Bytes of a seal on the wire, right after the frame header.
    static let byteCount = 16
    /// Frames with at most this many payload bytes are hashed; larger ones take GMAC.
    static let largestHashedPayload = 1024

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

    /// The seal of the next frame, whose encoded header and payload are given.
    mutating func next(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> [UInt8] {
        defer { counter &+= 1 }
        return code(header: header, payload: payload, number: counter)
    }

    /// Whether `seal` is the next frame's, compared in constant time. A frame
    /// that fails leaves the counter where it was; the connection ends anyway.
    mutating func isNext(_ seal: UnsafeRawBufferPointer, header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> Bool {
        let expected = code(header: header, payload: payload, number: counter)
        guard seal.count == Self.byteCount else { return false }
        var difference: UInt8 = 0
        for index in 0..<Self.byteCount { difference |= expected[index] ^ seal[index] }
        guard difference == 0 else { return false }
        counter &+= 1
        return true
    }

    private func code(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, number: UInt64) -> [UInt8] {
        if payload.count <= Self.largestHashedPayload {
            var inner = innerPad
            withUnsafeBytes(of: number.littleEndian) { inner.update(bufferPointer: $0) }
            inner.update(bufferPointer: header)
            inner.update(bufferPointer: payload)
            var outer = outerPad
            inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
            return Array(outer.finalize().prefix(Self.byteCount))
        }
        var nonce = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: number.littleEndian) { nonce.replaceSubrange(4..<12, with: $0) }
        // A nonce of 12 bytes is always valid, and sealing cannot fail for a key of 16 bytes.
        let sealed = try! AES.GCM.seal(header, using: gmacKey, nonce: AES.GCM.Nonce(data: nonce), authenticating: payload)
        return Array(sealed.tag)
    }
}
