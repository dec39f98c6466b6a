/// The name of a file-system object: 64 bits whose top 16 are the owning
/// server's index + 1 and whose rest is a serial from that server. Anyone
/// can tell the owner from the handle (PVFS2's handle ranges).
public struct ObjectHandle: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The handle as one number: its server in the top 16 bits, its serial below.
    public let rawValue: UInt64
    /// A handle from its number.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits of the serial (per-server counter).
    public static let serialBits = 48
    /// The most servers a file system may have.
    public static let maximumServers = (1 << 16) - 1

    /// The handle of serial `serial` on server `server`.
    public init(server: Int, serial: UInt64) {
        precondition(server >= 0 && server < Self.maximumServers && serial < (1 << UInt64(Self.serialBits)), "handle out of range")
        rawValue = (UInt64(server + 1) << UInt64(Self.serialBits)) | serial
    }

    /// The root directory: server 0's first object.
    public static let root = ObjectHandle(server: 0, serial: 1)

    /// The owning server, or nil for a handle no server can own (0, garbage).
    public var server: Int? {
        let top = Int(rawValue >> UInt64(Self.serialBits))
        return top == 0 ? nil : top - 1
    }

    /// The per-server counter part.
    public var serial: UInt64 { rawValue & ((1 << UInt64(Self.serialBits)) - 1) }

    /// "server:serial".
    public var description: String { "\(server.map(String.init) ?? "?"):\(serial)" }

    /// Ordered by number (so by server, then serial).
    public static func < (lhs: ObjectHandle, rhs: ObjectHandle) -> Bool { lhs.rawValue < rhs.rawValue }
}
