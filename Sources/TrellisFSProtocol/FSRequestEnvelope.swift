import NIOCore

/// A request with what every request carries: a per-client unique id and
/// the caller's credentials. On the wire: the protocol version, the
/// operation's code, the id, the credentials, then the operation's fields.
public struct FSRequestEnvelope: Sendable {
    /// Sent with every request; a server refuses other versions with `protocolViolation`.
    public static let protocolVersion: UInt16 = 5

    /// Unique within its client; its reply comes back on a tag derived from it.
    public var requestID: UInt64
    /// Whom the request is made for.
    public var credentials: Credentials
    /// What is asked.
    public var operation: any FSOperation

    /// A request ready to send.
    public init(requestID: UInt64, credentials: Credentials, operation: any FSOperation) {
        self.requestID = requestID
        self.credentials = credentials
        self.operation = operation
    }

    /// The request as it goes on the wire: version, code, id, credentials, fields.
    public func encoded() -> ByteBuffer {
        var writer = WireWriter()
        writer.write(Self.protocolVersion)
        writer.write(type(of: operation).code)
        writer.write(requestID)
        writer.write(credentials)
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
        let credentials: Credentials = try reader.read()
        guard let kind = FSOperations.operation(code: code) else {
            throw FSError(.protocolViolation, "request \(requestID) has unknown operation \(code)")
        }
        let operation = try kind.init(from: &reader)
        guard reader.isAtEnd else {
            throw FSError(.protocolViolation, "request \(requestID) (\(kind.name)) has \(reader.buffer.readableBytes) bytes left over")
        }
        return FSRequestEnvelope(requestID: requestID, credentials: credentials, operation: operation)
    }
}

extension FSRequestEnvelope: Equatable {
    /// The same id, credentials and operation.
    public static func == (left: FSRequestEnvelope, right: FSRequestEnvelope) -> Bool {
        left.requestID == right.requestID && left.credentials == right.credentials && left.operation.isEqual(to: right.operation)
    }
}
