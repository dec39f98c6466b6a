import Crypto
import Foundation
import Glibc
import TrellisCore

/// The secret every process of a cluster (or of one job) shares: a process
/// that proves it holds it is let in, any other is refused before anything
/// it sends is read (BeeGFS's connAuthFile, MUNGE's key). Made by `trellis
/// keygen`, kept in a file only its owner can read. (Sendable: the key
/// is never changed after it is made.)
public struct ClusterKey: @unchecked Sendable {
    package let symmetricKey: SymmetricKey

    /// Random bytes a generated key holds.
    public static let generatedBytes = 32
    /// The fewest bytes a key file may hold: a shorter secret is guessed.
    public static let minimumBytes = 16

    /// A key of `bytes` (at least `minimumBytes` of them).
    public init(bytes: [UInt8]) throws {
        guard bytes.count >= Self.minimumBytes else {
            throw TrellisError(.invalidArgument, "a key needs at least \(Self.minimumBytes) bytes, not \(bytes.count)")
        }
        symmetricKey = SymmetricKey(data: bytes)
    }

    /// A new random key.
    public static func generate() -> ClusterKey {
        var generator = SystemRandomNumberGenerator()
        return try! ClusterKey(bytes: (0..<generatedBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// The key held in the file at `path`. Refused when others than its
    /// owner may read or write it (as ssh refuses a private key), when it
    /// is not a regular file, and when it holds too few bytes; leading and
    /// trailing white space is not part of the key.
    public static func load(from path: String) throws -> ClusterKey {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw TrellisError(.invalidArgument, "cannot read the key file \(path)", underlying: SystemCallError("stat", errno: errno))
        }
        guard status.st_mode & S_IFMT == S_IFREG else { throw TrellisError(.invalidArgument, "the key file \(path) is not a regular file") }
        let loose = status.st_mode & 0o077
        guard loose == 0 else {
            throw TrellisError(
                .invalidArgument,
                "the key file \(path) may be read or written by others (mode \(String(status.st_mode & 0o777, radix: 8))); make it 0400 (chmod 400 \(path))")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrellisError(.invalidArgument, "cannot read the key file \(path)", underlying: SystemCallError("open", errno: errno))
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try ClusterKey(bytes: Array(text.utf8))
        } catch let error as TrellisError {
            throw TrellisError(.invalidArgument, "the key file \(path): \(error.message)")
        }
    }

    /// Writes a new key to `path` with mode 0400, refusing to replace a file
    /// that is there (a running cluster would lose its key).
    public static func generate(at path: String) throws -> ClusterKey {
        let key = ClusterKey.generate()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o400)
        guard fd >= 0 else {
            let code = errno
            let reason = code == EEXIST ? "it exists already (remove it first to make a new key)" : "it cannot be made"
            throw TrellisError(.invalidArgument, "no key written to \(path): \(reason)", underlying: SystemCallError("open", errno: code))
        }
        defer { close(fd) }
        let text = Array((key.hex + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == text.count else {
            let code = errno
            unlink(path)
            throw TrellisError(.invalidArgument, "no key written to \(path)", underlying: SystemCallError("write", errno: code))
        }
        return try load(from: path)
    }

    /// The key's bytes in hexadecimal, as `generate(at:)` writes them.
    private var hex: String {
        symmetricKey.withUnsafeBytes { Hex.encode(Array($0)) }
    }

    /// A key for one purpose (HKDF-SHA256 with `purpose` as its info), so
    /// that no code made with it can stand for a code made with the cluster
    /// key itself or for another purpose.
    public func derivedKey(for purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: symmetricKey, info: Array(purpose.utf8), outputByteCount: 32)
    }

    /// HMAC-SHA256 of `parts`.
    package func authenticationCode(_ parts: [[UInt8]]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.message(parts), using: symmetricKey))
    }

    /// Whether `code` is the HMAC-SHA256 of `parts` (compared in constant time).
    package func isAuthenticationCode(_ code: [UInt8], of parts: [[UInt8]]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Self.message(parts), using: symmetricKey)
    }

    /// The parts, each after its length, so that no two lists of parts make one message.
    private static func message(_ parts: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        for part in parts {
            withUnsafeBytes(of: UInt32(part.count).bigEndian) { bytes += $0 }
            bytes += part
        }
        return bytes
    }
}
