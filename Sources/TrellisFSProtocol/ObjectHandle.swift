/// The name of a file-system object: 64 bits whose top 16 are the owning
/// server's index + 1 and whose rest is a serial from that server. Anyone
/// can tell the owner from the handle (PVFS2's handle ranges).
public struct ObjectHandle: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let serialBits = 48
    public static let maximumServers = (1 << 16) - 1

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

    public var serial: UInt64 { rawValue & ((1 << UInt64(Self.serialBits)) - 1) }

    public var description: String { "\(server.map(String.init) ?? "?"):\(serial)" }

    public static func < (lhs: ObjectHandle, rhs: ObjectHandle) -> Bool { lhs.rawValue < rhs.rawValue }
}
