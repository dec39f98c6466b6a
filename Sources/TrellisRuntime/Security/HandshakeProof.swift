import TrellisCore

/// The mutual challenge and response that open every connection between
/// two processes holding a `ClusterKey`. The accepting side speaks first,
/// with a fresh nonce; the opener answers with its own nonce and an HMAC
/// over both nonces and both process ids; the acceptor answers with its
/// HMAC over the same, labelled differently. Each side's nonce is new for
/// every connection, so a recorded handshake proves nothing on another,
/// and neither side sends a frame the other has not proven itself for.
struct HandshakeProof {
    static let nonceBytes = 32
    static let codeBytes = 32

    private static let openerLabel = Array("trellis handshake: opener".utf8)
    private static let acceptorLabel = Array("trellis handshake: acceptor".utf8)

    let acceptorNonce: [UInt8]
    let openerNonce: [UInt8]
    let opener: ProcessID
    let acceptor: ProcessID

    static func newNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<nonceBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    private func parts(_ label: [UInt8]) -> [[UInt8]] {
        [label, acceptorNonce, openerNonce, Self.bytes(opener), Self.bytes(acceptor)]
    }

    private static func bytes(_ process: ProcessID) -> [UInt8] {
        withUnsafeBytes(of: process.rawValue.bigEndian) { Array($0) }
    }

    /// What the opener sends to prove it holds `key`.
    func openerCode(_ key: ClusterKey) -> [UInt8] { key.authenticationCode(parts(Self.openerLabel)) }
    /// What the acceptor sends to prove it holds `key`.
    func acceptorCode(_ key: ClusterKey) -> [UInt8] { key.authenticationCode(parts(Self.acceptorLabel)) }

    func isOpenerCode(_ code: [UInt8], _ key: ClusterKey) -> Bool { key.isAuthenticationCode(code, of: parts(Self.openerLabel)) }
    func isAcceptorCode(_ code: [UInt8], _ key: ClusterKey) -> Bool { key.isAuthenticationCode(code, of: parts(Self.acceptorLabel)) }
}
