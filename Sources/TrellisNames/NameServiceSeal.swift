import Crypto
import TrellisKeys

/// How a name service and its clients prove to each other that they hold
/// the cluster key, and then seal every line. The client speaks first, as in
/// the rest of the name service's protocol:
///
/// ```
/// client                                            name service
///   | -- {"operation":"hello","nonce":Nc} ------------------> |
///   | <- {"ok":true,"nonce":Ns,"proof":HMAC(K, service, Nc, Ns)} |
///   | -- {"operation":"prove","proof":HMAC(K, client, Nc, Ns)} -> |
///   | <== every line after: MAC(line number, line) + " " + line ==> |
/// ```
///
/// Both nonces are new for every connection, so a recorded exchange proves
/// nothing on another; the line numbers, which both sides count and never
/// send, make a line dropped, repeated or moved fail its check.
public enum NameServiceHandshake {
    /// Random bytes in each side's nonce.
    public static let nonceBytes = 16
    private static let serviceLabel = Array("trellis name service: the service".utf8)
    private static let clientLabel = Array("trellis name service: a client".utf8)

    /// A new nonce, in hexadecimal as it goes in a line.
    public static func newNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<nonceBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// What the service answers a hello with, proving it holds `key`.
    public static func serviceProof(_ key: ClusterKey, client: String, service: String) -> String {
        Hex.encode(key.authenticationCode([serviceLabel, Array(client.utf8), Array(service.utf8)]))
    }

    /// What a client proves it holds `key` with.
    public static func clientProof(_ key: ClusterKey, client: String, service: String) -> String {
        Hex.encode(key.authenticationCode([clientLabel, Array(client.utf8), Array(service.utf8)]))
    }

    /// Whether `proof` is the service's for these nonces (compared in constant time).
    public static func isServiceProof(_ proof: String, _ key: ClusterKey, client: String, service: String) -> Bool {
        guard let code = Hex.decode(proof) else { return false }
        return key.isAuthenticationCode(code, of: [serviceLabel, Array(client.utf8), Array(service.utf8)])
    }

    /// Whether `proof` is a client's for these nonces (compared in constant time).
    public static func isClientProof(_ proof: String, _ key: ClusterKey, client: String, service: String) -> Bool {
        guard let code = Hex.decode(proof) else { return false }
        return key.isAuthenticationCode(code, of: [clientLabel, Array(client.utf8), Array(service.utf8)])
    }

    /// Whether `nonce` is one (hexadecimal, of `nonceBytes`).
    public static func isNonce(_ nonce: String?) -> Bool {
        nonce.flatMap(Hex.decode)?.count == nonceBytes
    }
}

/// The seal on the lines of one connection after its handshake: a 16-byte
/// HMAC-SHA256 in hexadecimal and a space before each line, keyed per
/// direction (HKDF from the cluster key and both nonces), over the line's
/// number in its direction and the line. (Sendable: the keys never change
/// once made.)
public struct NameLineSeal: @unchecked Sendable {
    private let sending: SymmetricKey
    private let receiving: SymmetricKey
    private var sent: UInt64 = 0
    private var received: UInt64 = 0
    /// Bytes of the seal in hexadecimal, with the space after it.
    public static let prefixBytes = 33

    /// The seal of one side of a connection whose handshake used these nonces.
    public init(key: ClusterKey, client: String, service: String, isService: Bool) {
        let salt = Array(client.utf8) + Array(service.utf8)
        func derive(_ direction: String) -> SymmetricKey {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: key.symmetricKey, salt: salt, info: Array("trellis name service: \(direction)".utf8), outputByteCount: 32)
        }
        let toService = derive("client to service"), toClient = derive("service to client")
        sending = isService ? toClient : toService
        receiving = isService ? toService : toClient
    }

    /// `line` (without its newline) sealed, newline included.
    public mutating func seal(_ line: [UInt8]) -> [UInt8] {
        defer { sent += 1 }
        return Array(Hex.encode(Self.code(line, number: sent, key: sending)).utf8) + [UInt8(ascii: " ")] + line + [UInt8(ascii: "\n")]
    }

    /// The line inside a sealed one (without its newline), or nil when its seal does not hold.
    public mutating func open(_ sealed: some Collection<UInt8>) -> [UInt8]? {
        let bytes = Array(sealed)
        guard bytes.count >= Self.prefixBytes, bytes[Self.prefixBytes - 1] == UInt8(ascii: " "),
              let code = Hex.decode(String(decoding: bytes[..<(Self.prefixBytes - 1)], as: UTF8.self))
        else { return nil }
        let line = Array(bytes[Self.prefixBytes...])
        let expected = Self.code(line, number: received, key: receiving)
        // Constant time: compare every byte whatever the first difference.
        guard code.count == expected.count, zip(code, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        received += 1
        return line
    }

    private static func code(_ line: [UInt8], number: UInt64, key: SymmetricKey) -> [UInt8] {
        var message = withUnsafeBytes(of: number.bigEndian) { Array($0) }
        message += line
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key).prefix(16))
    }
}
