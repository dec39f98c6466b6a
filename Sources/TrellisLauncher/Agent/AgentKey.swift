import Glibc
import TrellisCore
import TrellisKeys
import TrellisSystem

/// The secret that `trellis agents up` shares with the agents it starts and
/// that every launcher and proxy proves it holds before an agent starts
/// anything: whoever can reach an agent's port but lacks the key gets nothing.
/// It lives in a file only its owner may read (as ssh keys and MUNGE's key do).
public struct AgentKey: Sendable, Equatable {
    /// The secret itself: 32 random bytes for a key made by `random()`.
    public let bytes: [UInt8]

    /// Wraps the given bytes as a key.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The environment variable that hands the key to a proxy an agent starts;
    /// the proxy takes it out before it starts any rank.
    public static let environmentVariable = "TRELLIS_AGENT_KEY"

    /// `$TRELLIS_AGENT_KEY_FILE`, or `~/.trellis/agent.key`.
    public static func defaultPath(_ environment: [String: String] = ProcessEnvironment.current()) -> String {
        if let path = environment["TRELLIS_AGENT_KEY_FILE"], !path.isEmpty { return path }
        return AgentTable.folder(environment) + "/agent.key"
    }

    /// The key as lowercase hexadecimal, two digits a byte: the form the key file holds.
    public var hex: String { Hex.encode(bytes) }

    /// Reads a key from exactly 64 hexadecimal digits (32 bytes); `nil` for
    /// anything else.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex.lowercased()), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// A new 32-byte key from the system's cryptographic generator.
    public static func random() -> AgentKey { AgentKey(bytes: randomBytes(32)) }

    /// Bytes from the system's cryptographic generator (getrandom), for keys and nonces.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// Reads the key at `path`; refuses one that others may read or that someone else owns.
    public static func load(from path: String) throws -> AgentKey {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw TrellisError(.invalidArgument, "no agent key at \(path): `trellis agents up` makes one")
        }
        guard status.st_uid == getuid() else {
            throw TrellisError(.accessRefused, "the agent key \(path) belongs to uid \(status.st_uid), not to this user (uid \(getuid()))")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw TrellisError(.accessRefused, "the agent key \(path) may be read by others (mode \(String(status.st_mode & 0o777, radix: 8))): chmod 600 \(path)")
        }
        guard let text = readTextFile(path), let key = AgentKey(hex: String(text.filter { !$0.isWhitespace })) else {
            throw TrellisError(.invalidArgument, "the agent key \(path) is not 64 hexadecimal digits")
        }
        return key
    }

    /// The key at `path`, made (mode 0600, its folder 0700) if there is none.
    public static func loadOrCreate(at path: String) throws -> AgentKey {
        if access(path, F_OK) == 0 { return try load(from: path) }
        let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !folder.isEmpty { mkdir(folder, 0o700) }
        let key = random()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { return try load(from: path) }
            throw TrellisError(.systemCall, "cannot make the agent key \(path)", underlying: SystemCallError("open", errno: errno))
        }
        defer { close(fd) }
        guard writeAll(fd, Array((key.hex + "\n").utf8)) else {
            throw TrellisError(.systemCall, "cannot write the agent key \(path)", underlying: SystemCallError("write", errno: errno))
        }
        return key
    }

    /// The key this process uses to reach agents: the one its agent handed
    /// it (a proxy), else the key file's.
    public static func forThisProcess() throws -> AgentKey {
        if let inherited = inheritedKey { return inherited }
        return try load(from: defaultPath())
    }

    /// Takes the key out of the environment (so no rank inherits it) and keeps it for this process.
    public static func takeFromEnvironment() {
        guard let value = getenv(environmentVariable) else { return }
        let text = String(cString: value)
        unsetenv(environmentVariable)
        inheritedKey = AgentKey(hex: text)
    }

    nonisolated(unsafe) private static var inheritedKey: AgentKey?
}
