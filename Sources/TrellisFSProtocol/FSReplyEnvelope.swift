import NIOCore

/// A reply with the id of the request it answers: the error, or the
/// operation's reply in its wire form (which only the asker, knowing the
/// operation, decodes: `reply(to:)`).
public struct FSReplyEnvelope: Sendable, Equatable {
    /// The id of the request it answers.
    public var requestID: UInt64
    /// The error, or the reply's body in its wire form.
    public var result: Result<ByteBuffer, FSError>
    /// Message time steps from the request's arrival to this reply's
    /// sending, counting one per message on the critical path: 1 for a
    /// request the server answered alone, more for one it fanned out to
    /// other servers (Fig. 4 of the persistent-services paper, Latham, Ross
    /// and Thakur, "Can MPI Be Used for Persistent Parallel Services?").
    public var steps: UInt32

    /// A reply to request `requestID`.
    public init(requestID: UInt64, result: Result<ByteBuffer, FSError>, steps: UInt32 = 1) {
        self.requestID = requestID
        self.result = result
        self.steps = steps
    }

    /// The answer to an `Operation` request: its reply, or its error.
    public init<Operation: FSOperation>(requestID: UInt64, answering _: Operation.Type, _ result: Result<Operation.Reply, FSError>, steps: UInt32 = 1) {
        self.init(requestID: requestID, result: result.map(Operation.encodeReply), steps: steps)
    }

    /// The reply to an `Operation` request, or the error the server sent.
    public func reply<Operation: FSOperation>(to _: Operation.Type) throws -> Operation.Reply {
        try Operation.decodeReply(try result.get())
    }

    /// The reply as it goes on the wire.
    public func encoded() -> ByteBuffer {
        var writer = WireWriter()
        writer.write(FSRequestEnvelope.protocolVersion)
        writer.write(requestID)
        writer.write(steps)
        switch result {
        case .failure(let error):
            writer.write(UInt8(0))
            writer.write(error.code.name)
            writer.write(error.code.errno)
            writer.write(error.message)
        case .success(var body):
            writer.write(UInt8(1))
            let header = writer.buffer
            // A body encoded with room in front of it (`encodeReply`) takes the header there: a read's bytes are not copied again.
            if body.readerIndex >= header.readableBytes {
                body.moveReaderIndex(to: body.readerIndex - header.readableBytes)
                _ = body.setBuffer(header, at: body.readerIndex)
                return body
            }
            var buffer = header
            buffer.writeBuffer(&body)
            return buffer
        }
        return writer.buffer
    }

    /// Bytes of a successful reply's header (version, request id, steps,
    /// outcome): the room `FSOperation.encodeReply` leaves in front of a body.
    public static let successHeaderBytes = 2 + 8 + 4 + 1

    /// A reply read off the wire; `protocolViolation` for anything malformed.
    public static func decode(_ buffer: ByteBuffer) throws -> FSReplyEnvelope {
        var reader = WireReader(buffer)
        let version: UInt16 = try reader.read()
        guard version == FSRequestEnvelope.protocolVersion else {
            throw FSError(.protocolViolation, "reply protocol version \(version) is not \(FSRequestEnvelope.protocolVersion)")
        }
        let requestID: UInt64 = try reader.read()
        let steps: UInt32 = try reader.read()
        switch try reader.read(UInt8.self) {
        case 0:
            let name = try reader.read(String.self)
            let errno: Int32 = try reader.read()
            let error = FSError(.named(name, errno: errno), try reader.read(String.self))
            guard reader.isAtEnd else {
                throw FSError(.protocolViolation, "reply to request \(requestID) has \(reader.buffer.readableBytes) bytes left over")
            }
            return FSReplyEnvelope(requestID: requestID, result: .failure(error), steps: steps)
        case 1:
            return FSReplyEnvelope(requestID: requestID, result: .success(reader.buffer), steps: steps)
        case let other:
            throw FSError(.protocolViolation, "reply to request \(requestID) has unknown kind \(other)")
        }
    }
}
