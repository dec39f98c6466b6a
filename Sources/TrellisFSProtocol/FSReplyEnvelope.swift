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
    public init(requestID: UInt64, result: consuming Result<ByteBuffer, FSError>, steps: UInt32 = 1) {
        self.requestID = requestID
        self.steps = steps
        self.result = consume result
        placeHeaderInFrontOfTheBody()
    }

    /// Sets the header of a successful reply into the room in front of its
    /// body, here where the envelope is the body's only owner (given with
    /// `consume`), so that `encoded()`, which only borrows the envelope,
    /// sends the same bytes: set there, on a body the envelope still held,
    /// it cost a copy of the whole body, a read reply's megabyte. A body
    /// decoded off the wire has its header in front already and is left
    /// alone (it shares the bytes it arrived in).
    private mutating func placeHeaderInFrontOfTheBody() {
        guard case .success(var body) = result else { return }
        let header = Self.successHeader(requestID: requestID, steps: steps)
        let start = body.readerIndex - header.readableBytes
        guard start >= 0, body.reading(from: start).getSlice(at: start, length: header.readableBytes) != header else { return }
        // Let go of the envelope's hold first, so the body's bytes have one owner while the header goes in.
        result = .success(ByteBuffer())
        body.setBuffer(header, at: start)
        result = .success(body)
    }

    /// The answer to an `Operation` request: its reply, or its error.
    public init<Operation: FSOperation>(requestID: UInt64, answering _: Operation.Type, _ result: consuming Result<Operation.Reply, FSError>, steps: UInt32 = 1) {
        let encoded: Result<ByteBuffer, FSError>
        switch consume result {
        case .success(let reply): encoded = .success(Operation.encodeReply(reply))
        case .failure(let error): encoded = .failure(error)
        }
        self.init(requestID: requestID, result: consume encoded, steps: steps)
    }

    /// The reply to an `Operation` request, or the error the server sent.
    public func reply<Operation: FSOperation>(to _: Operation.Type) throws -> Operation.Reply {
        try Operation.decodeReply(try result.get())
    }

    /// The reply as it goes on the wire.
    public func encoded() -> ByteBuffer {
        switch result {
        case .failure(let error):
            var writer = WireWriter()
            Self.writeHeader(into: &writer, requestID: requestID, steps: steps, succeeded: false)
            writer.write(error.code.name)
            writer.write(error.code.errno)
            writer.write(error.message)
            return writer.buffer
        case .success(var body):
            let header = Self.successHeader(requestID: requestID, steps: steps)
            let start = body.readerIndex - header.readableBytes
            // A body encoded with room in front of it (`encodeReply`) has the header there since `init`; a body
            // someone else held then gets it here, at the cost of a copy.
            if start >= 0 {
                if body.reading(from: start).getSlice(at: start, length: header.readableBytes) != header { body.setBuffer(header, at: start) }
                body.moveReaderIndex(to: start)
                return body
            }
            var buffer = header
            buffer.writeBuffer(&body)
            return buffer
        }
    }

    /// What precedes a successful reply's body on the wire (`successHeaderBytes` of it).
    private static func successHeader(requestID: UInt64, steps: UInt32) -> ByteBuffer {
        var writer = WireWriter(capacity: successHeaderBytes)
        writeHeader(into: &writer, requestID: requestID, steps: steps, succeeded: true)
        return writer.buffer
    }

    /// Version, request id, steps and outcome: what every reply starts with.
    private static func writeHeader(into writer: inout WireWriter, requestID: UInt64, steps: UInt32, succeeded: Bool) {
        writer.write(FSRequestEnvelope.protocolVersion)
        writer.write(requestID)
        writer.write(steps)
        writer.write(UInt8(succeeded ? 1 : 0))
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
