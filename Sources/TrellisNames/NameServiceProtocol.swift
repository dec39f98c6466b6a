import Foundation

/// One request to the name service: a JSON object on one line.
///
/// ```
/// {"operation":"publish","service":"pvfs","port":"trellis://127.0.0.1:4000/7","publisher":"3fa2…"}
/// {"operation":"lookup","service":"pvfs"}
/// ```
public struct NameRequest: Codable, Sendable, Equatable {
    /// What a request asks the name service to do.
    public enum Operation: String, Codable, Sendable {
        /// `publish` and `unpublish` add and withdraw a name (MPI_Publish_name,
        /// MPI_Unpublish_name), `lookup` finds one (MPI_Lookup_name), `list` returns
        /// every live name, `renew` extends all of a publisher's leases, `status`
        /// reports on the service, and `shutdown` stops it once it has answered.
        /// `hello` and `prove` are the handshake with a service that holds
        /// the cluster key (`NameServiceHandshake`).
        case publish, unpublish, lookup, list, renew, status, shutdown, hello, prove
    }

    /// What the request asks for.
    public var operation: Operation
    /// The service name (publish, unpublish, lookup).
    public var service: String?
    /// The port name to publish under `service` (publish only).
    public var port: String?
    /// The identity of the publishing process, which owns its names and their
    /// lease (publish, unpublish, renew).
    public var publisher: String?
    /// The client's nonce (hello).
    public var nonce: String?
    /// The client's proof that it holds the cluster key (prove).
    public var proof: String?

    /// A request for `operation`; which of the other fields it needs depends on the operation.
    public init(_ operation: Operation, service: String? = nil, port: String? = nil, publisher: String? = nil) {
        self.operation = operation
        self.service = service
        self.port = port
        self.publisher = publisher
    }
}

/// The answer to one request, also one JSON line.
public struct NameResponse: Codable, Sendable, Equatable {
    /// Whether the service did what was asked; when false, `error` says why.
    public var ok: Bool
    /// Why the request was refused (only when `ok` is false).
    public var error: String?
    /// The port found (lookup only).
    public var port: String?
    /// Every live name, sorted by service name (list only).
    public var entries: [NameEntry]?
    /// How many names the publisher holds (renew: fewer than it published means
    /// the service was restarted), or how many are live (status).
    public var names: Int?
    /// The lease length: a publisher renews within it to keep its names (publish, renew, status).
    public var leaseSeconds: Double?
    /// The name service's process id (status only).
    public var pid: Int?
    /// The service's nonce (the answer to hello).
    public var nonce: String?
    /// The service's proof that it holds the cluster key (the answer to hello).
    public var proof: String?
    /// Set when the service refused the connection itself (the handshake
    /// failed, or was never started); `error` says why, and the connection is closed.
    public var refusedConnection: Bool?

    /// An answer; the service fills in the fields its operation returns.
    public init(ok: Bool, error: String? = nil, port: String? = nil, entries: [NameEntry]? = nil, names: Int? = nil, leaseSeconds: Double? = nil) {
        self.ok = ok
        self.error = error
        self.port = port
        self.entries = entries
        self.names = names
        self.leaseSeconds = leaseSeconds
    }

    /// A refusal with `message` as its error.
    public static func failure(_ message: String) -> NameResponse { NameResponse(ok: false, error: message) }
}

/// Line framing and JSON for both directions.
public enum NameServiceCodec {
    /// Longest line either side accepts.
    public static let maximumLineBytes = 1 << 20

    /// The value as one line of JSON, keys sorted, newline included.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    /// The value in one line of JSON (without its newline); throws when the
    /// line does not decode as `type`.
    public static func decode<T: Decodable>(_ type: T.Type, from line: some Collection<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}

/// One published name, as the name service lists it.
public struct NameEntry: Sendable, Equatable, Codable {
    /// The published service name.
    public var service: String
    /// The port name published under it.
    public var port: String
    /// The identity of the process that holds it.
    public var publisher: String
    /// When its lease runs out unless renewed, on the name service's monotonic
    /// clock (a reading that means something on that host only).
    public var expiresAtNanoseconds: UInt64

    /// An entry with every field given.
    public init(service: String, port: String, publisher: String, expiresAtNanoseconds: UInt64) {
        self.service = service
        self.port = port
        self.publisher = publisher
        self.expiresAtNanoseconds = expiresAtNanoseconds
    }
}
