import Foundation

/// One request to the name service: a JSON object on one line.
///
/// ```
/// {"operation":"publish","service":"pvfs","port":"trellis://127.0.0.1:4000/7","publisher":"3fa2…"}
/// {"operation":"lookup","service":"pvfs"}
/// ```
public struct NameRequest: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable {
        case publish, unpublish, lookup, list, renew, status, shutdown
    }

    public var operation: Operation
    public var service: String?
    public var port: String?
    public var publisher: String?

    public init(_ operation: Operation, service: String? = nil, port: String? = nil, publisher: String? = nil) {
        self.operation = operation
        self.service = service
        self.port = port
        self.publisher = publisher
    }
}

/// The answer to one request, also one JSON line.
public struct NameResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    public var error: String?
    public var port: String?
    public var entries: [NameEntry]?
    public var names: Int?
    public var leaseSeconds: Double?
    /// The name service's process id (status only).
    public var pid: Int?

    public init(ok: Bool, error: String? = nil, port: String? = nil, entries: [NameEntry]? = nil, names: Int? = nil, leaseSeconds: Double? = nil) {
        self.ok = ok
        self.error = error
        self.port = port
        self.entries = entries
        self.names = names
        self.leaseSeconds = leaseSeconds
    }

    public static func failure(_ message: String) -> NameResponse { NameResponse(ok: false, error: message) }
}

/// Line framing and JSON for both directions.
public enum NameServiceCodec {
    /// Longest line either side accepts.
    public static let maximumLineBytes = 1 << 20

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    public static func decode<T: Decodable>(_ type: T.Type, from line: some Collection<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}

/// One published name, as the name service lists it.
public struct NameEntry: Sendable, Equatable, Codable {
    public var service: String
    public var port: String
    public var publisher: String
    public var expiresAtNanoseconds: UInt64

    public init(service: String, port: String, publisher: String, expiresAtNanoseconds: UInt64) {
        self.service = service
        self.port = port
        self.publisher = publisher
        self.expiresAtNanoseconds = expiresAtNanoseconds
    }
}
