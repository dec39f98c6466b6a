import Crypto

/// How the two ends of a link of a job's tree prove to each other that
/// they hold the job's key, before either trusts anything the other sends:
/// the parent starts no part of the job for a stranger and hands it no
/// plan (the plan carries the job's environment), and a proxy takes its
/// plan, which says what to run, only from a parent that holds the key.
///
///     parent → child   challenge: the parent's nonce (32 bytes)
///     child  → parent  hello (its position) or join (its host and port), its nonce,
///                      HMAC-SHA256(key, "child" ‖ parent nonce ‖ child nonce ‖ what it says)
///     parent → child   welcome: HMAC-SHA256(key, "parent" ‖ child nonce ‖ parent nonce ‖ what it said)
///
/// Both nonces are fresh for each link, so a recorded exchange proves
/// nothing on another. After the welcome every frame each way is sealed
/// (`LinkSeal`).
enum LinkHandshake {
    static let nonceBytes = 32

    static func nonce() -> [UInt8] { AgentKey.randomBytes(nonceBytes) }

    /// The child's proof, over what its hello or join says (`claim`).
    static func childProof(_ key: JobKey, parentNonce: [UInt8], childNonce: [UInt8], claim: String) -> [UInt8] {
        code(key, "child", parentNonce, childNonce, Array(claim.utf8))
    }

    /// The parent's answer to a child whose proof held.
    static func parentProof(_ key: JobKey, parentNonce: [UInt8], childNonce: [UInt8], claim: String) -> [UInt8] {
        code(key, "parent", childNonce, parentNonce, Array(claim.utf8))
    }

    /// What a hello claims: the tree position the proxy takes.
    static func claim(position: Int) -> String { "hello \(position)" }

    /// What a join claims: where the proxy runs and listens.
    static func claim(host: String, port: Int) -> String { "join \(host) \(port)" }

    private static func code(_ key: JobKey, _ label: String, _ parts: [UInt8]...) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key.bytes))
        hmac.update(data: Array("trellis job link: \(label)".utf8))
        for part in parts { hmac.update(data: part) }
        return Array(hmac.finalize())
    }
}

/// One direction of a link after its handshake: each frame's body
/// encrypted and authenticated with AES-GCM (the frame's length as
/// additional data), under a key for this link and direction drawn by
/// HKDF from the job key and both nonces, and a nonce that counts the
/// frames. A frame dropped, repeated, reordered, altered or moved from
/// another link fails to open, and the link is closed. Encrypted, not
/// only authenticated: plans carry the job's environment, and output and
/// stdin the job's data.
struct LinkSeal {
    enum Direction: String {
        case down = "parent to child"
        case up = "child to parent"
    }

    /// Bytes a seal adds to a frame's body.
    static let tagBytes = 16

    private let key: SymmetricKey
    private var counter: UInt64 = 0

    init(jobKey: JobKey, parentNonce: [UInt8], childNonce: [UInt8], direction: Direction) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: jobKey.bytes), salt: parentNonce + childNonce,
            info: Array("trellis job link \(direction.rawValue)".utf8), outputByteCount: 32)
    }

    private mutating func nextNonce() -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: counter.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        counter &+= 1
        // Twelve bytes always make a nonce.
        return try! AES.GCM.Nonce(data: bytes)
    }

    /// The next frame's body, sealed: ciphertext, then the tag.
    mutating func seal(_ body: [UInt8], length: [UInt8]) -> [UInt8] {
        // Sealing with a 32-byte key and a 12-byte nonce cannot fail.
        let box = try! AES.GCM.seal(body, using: key, nonce: nextNonce(), authenticating: length)
        return Array(box.ciphertext) + Array(box.tag)
    }

    /// The next frame's body, or nil when `sealed` is not the next frame sealed with this key.
    mutating func open(_ sealed: [UInt8], length: [UInt8]) -> [UInt8]? {
        guard sealed.count >= Self.tagBytes,
            let box = try? AES.GCM.SealedBox(nonce: nextNonce(), ciphertext: sealed.dropLast(Self.tagBytes), tag: sealed.suffix(Self.tagBytes))
        else { return nil }
        return (try? AES.GCM.open(box, using: key, authenticating: length)).map(Array.init)
    }
}
