import NIOCore

/// A request with what every request carries: a per-client unique id, the
/// client's own id, the caller's credentials, for a change a primary
/// relays to its replica group's copies the group's epoch, and, for a
/// request on datafiles, the capability that allows it. On the wire: the
/// protocol version, the operation's code, the request id, the client id,
/// the credentials, the relay epoch, the capability, then the operation's fields.
public struct FSRequestEnvelope: Sendable {
    /// Sent with every request; a server refuses other versions with `protocolViolation`.
    public static let protocolVersion: UInt16 = 12

    /// Unique within its client; its reply comes back on a tag derived from it.
    public var requestID: UInt64
    /// The client that sent it, chosen at random when the client started;
    /// with the request id it names the request for good, so a server that
    /// sees it again (a resend after a lost reply, or after a failover)
    /// answers from its record instead of doing it twice. 0: a client that
    /// keeps no such promise, whose requests are never recorded.
    public var clientID: UInt64
    /// Whom the request is made for.
    public var credentials: Credentials
    /// What is asked.
    public var operation: any FSOperation
    /// For a change a primary relays to a copy of its group: the group's
    /// epoch as the primary knows it. A copy takes relayed changes only,
    /// and none from an epoch older than its own (a deposed primary's); nil
    /// for a client's request.
    public var relayEpoch: UInt64?
    /// What allows a request on datafiles (and every request one server
    /// sends another) on a file system with a key: nil for the rest.
    public var capability: Capability?
    /// Where it came from, as the server that took it knows (never on the
    /// wire): filled in by the server's serving loop; nil for a request
    /// made in the server's own process.
    public var origin: RequestOrigin?

    /// A request ready to send.
    public init(
        requestID: UInt64, clientID: UInt64 = 0, credentials: Credentials, operation: any FSOperation, relayEpoch: UInt64? = nil, capability: Capability? = nil
    ) {
        self.requestID = requestID
        self.clientID = clientID
        self.credentials = credentials
        self.operation = operation
        self.relayEpoch = relayEpoch
        self.capability = capability
    }

    /// The request as it goes on the wire: version, code, ids, credentials, fields.
    public func encoded() -> ByteBuffer {
        var writer = WireWriter()
        writer.write(Self.protocolVersion)
        writer.write(type(of: operation).code)
        writer.write(requestID)
        writer.write(clientID)
        writer.write(credentials)
        writer.write(relayEpoch)
        writer.write(capability)
        writer.write(operation)
        return writer.buffer
    }

    /// Reads a request; anything malformed is a `protocolViolation` that
    /// names the problem (with the request id when it got that far).
    public static func decode(_ buffer: ByteBuffer) throws -> FSRequestEnvelope {
        var reader = WireReader(buffer)
        let version: UInt16 = try reader.read()
        guard version == protocolVersion else {
            throw FSError(.protocolViolation, "protocol version \(version) is not \(protocolVersion)")
        }
        let code: UInt16 = try reader.read()
        let requestID: UInt64 = try reader.read()
        let clientID: UInt64 = try reader.read()
        let credentials: Credentials = try reader.read()
        let relayEpoch: UInt64? = try reader.read()
        let capability: Capability? = try reader.read()
        guard let kind = FSOperations.operation(code: code) else {
            throw FSError(.protocolViolation, "request \(requestID) has unknown operation \(code)")
        }
        let operation = try kind.init(from: &reader)
        guard reader.isAtEnd else {
            throw FSError(.protocolViolation, "request \(requestID) (\(kind.name)) has \(reader.buffer.readableBytes) bytes left over")
        }
        return FSRequestEnvelope(requestID: requestID, clientID: clientID, credentials: credentials, operation: operation, relayEpoch: relayEpoch, capability: capability)
    }
}

extension FSRequestEnvelope: Equatable {
    /// The same ids, credentials and operation.
    public static func == (left: FSRequestEnvelope, right: FSRequestEnvelope) -> Bool {
        left.requestID == right.requestID && left.clientID == right.clientID && left.credentials == right.credentials && left.relayEpoch == right.relayEpoch
            && left.capability == right.capability
            && left.operation.isEqual(to: right.operation)
    }
}

/// What a server knows of where a request came from, beyond what it says:
/// the host at the other end of its connection (as the socket has it), and
/// the identity the client proved on that connection, if it proved one.
public struct RequestOrigin: Sendable, Equatable {
    /// The client's host address (nil: not known).
    public var host: String?
    /// The uid and gid a MUNGE credential proved (nil: none was proved).
    public var proven: Credentials?

    /// An origin as the serving loop saw it.
    public init(host: String?, proven: Credentials? = nil) {
        self.host = host
        self.proven = proven
    }
}
