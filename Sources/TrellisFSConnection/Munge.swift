import CMunge
import Glibc
import TrellisFSProtocol

/// MUNGE, the credential service Slurm authenticates users with: the local
/// munged seals the caller's uid and gid (as the kernel tells it) with a key
/// every host of the cluster shares, and any host's munged can open the
/// seal. A credential opens once and for a few minutes only. Trellis's
/// clients send one when they connect; servers learn from it who the client
/// really is (docs/17-security.md).
public enum Munge {
    /// munged's socket: `TRELLIS_MUNGE_SOCKET` when set, else MUNGE's own default (nil).
    public static var socketFromEnvironment: String? {
        getenv("TRELLIS_MUNGE_SOCKET").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// What makes a client's proofs for file system `name` on each new
    /// connection: nil when no munged answers on this host (it proves nothing then).
    public static func prover(fileSystem name: String, socket: String? = socketFromEnvironment) -> (@Sendable () -> String?)? {
        guard isRunning(socket: socket) else { return nil }
        return { try? encode(payload: ProveIdentity.payload(fileSystem: name), socket: socket) }
    }

    /// A credential for this process's uid and gid carrying `payload`;
    /// `notSupported` when no munged answers at `socket`.
    public static func encode(payload: String, socket: String?) throws -> String {
        var credential: UnsafeMutablePointer<CChar>?
        var message: UnsafePointer<CChar>?
        let bytes = Array(payload.utf8)
        let error = bytes.withUnsafeBytes { raw in
            withOptionalCString(socket) { trellis_munge_encode($0, raw.baseAddress, Int32(raw.count), &credential, &message) }
        }
        defer { free(credential) }
        guard error == 0, let credential else {
            throw FSError(.notSupported, "MUNGE could not make a credential (munged at \(socket ?? "its default socket")): \(words(message))")
        }
        return String(cString: credential)
    }

    /// What a credential proves.
    public struct Proof: Sendable, Equatable {
        /// The uid and gid of the process that made it, as its host's kernel told its munged.
        public var uid: UInt32, gid: UInt32
        /// What that process put in it.
        public var payload: String
    }

    /// Opens `credential` with the munged at `socket`; `notPermitted` naming
    /// MUNGE's reason when it is forged, replayed, expired or from another
    /// key, `notSupported` when no munged answers.
    public static func decode(_ credential: String, socket: String?) throws -> Proof {
        var payload: UnsafeMutableRawPointer?
        var length: Int32 = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        var message: UnsafePointer<CChar>?
        let error = withOptionalCString(socket) { trellis_munge_decode($0, credential, &payload, &length, &uid, &gid, &message) }
        defer { free(payload) }
        guard error == 0 else {
            // EMUNGE_SOCKET: no munged there.
            throw FSError(error == 6 ? .notSupported : .notPermitted, "the MUNGE credential was refused: \(words(message))")
        }
        let carried = payload.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(length)), as: UTF8.self) } ?? ""
        return Proof(uid: uid, gid: gid, payload: carried)
    }

    /// Whether a munged answers at `socket`.
    public static func isRunning(socket: String?) -> Bool {
        (try? encode(payload: "", socket: socket)) != nil
    }

    private static func words(_ message: UnsafePointer<CChar>?) -> String {
        message.map { String(cString: $0) } ?? "unknown error"
    }

    private static func withOptionalCString<Result>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> Result) -> Result {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }
}
