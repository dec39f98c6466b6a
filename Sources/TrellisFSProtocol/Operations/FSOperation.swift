import NIOCore

/// One request a file-system server answers, as a type: its wire code, the
/// request's fields and wire form, the reply it gets, and what the servers
/// and clients need to know of it. Each operation lives in a file of its
/// own, with its server handler in `TrellisFSServer/Operations` under the
/// same name; `FSOperations.all` lists them (OrangeFS likewise gives every
/// request its own state machine).
///
/// ```swift
/// let made = try connection.call(MakeDirectory(parent: .root, name: "results", mode: 0o755),
///                                credentials: .current, deadline: .after(seconds: 10)).reply
/// print(made.handle)   // the new directory's handle: the reply is typed
/// ```
public protocol FSOperation: WireCodable, Sendable, Equatable {
    /// What a successful answer carries.
    associatedtype Reply: WireCodable & Sendable & Equatable

    /// Its code, reply, idempotence, whether it commits, and its wire form.
    static var form: OperationForm<Self, Reply> { get }
}

extension FSOperation {
    /// The number on the wire, unique among `FSOperations.all`.
    public static var code: UInt16 { form.code }
    /// Whether carrying it out twice does no harm, so a resend may simply run again.
    public static var isIdempotent: Bool { form.isIdempotent }
    /// Whether a server records its reply with its change, to answer a
    /// resend from the record: every operation that changes what a server
    /// stores and would do harm twice.
    public static var isRecorded: Bool { form.commits && !form.isIdempotent }
    /// Whether answering may change what the server stores.
    public static var commits: Bool { form.commits }

    /// Writes the fields in the order of its form.
    public func encode(into writer: inout WireWriter) { Self.form.wire.encode(self, &writer) }
    /// Reads the fields and makes the operation, with its checks.
    public init(from reader: inout WireReader) throws { self = try Self.form.wire.decode(&reader) }

    /// The operation's name, for messages and logs.
    public static var name: String { String(describing: Self.self) }

    /// Whether `other` is this same request.
    public func isEqual(to other: any FSOperation) -> Bool { (other as? Self) == self }

    /// Reads this operation's reply from a reply's body; anything malformed
    /// or left over is a `protocolViolation`.
    public static func decodeReply(_ body: ByteBuffer) throws -> Reply {
        var reader = WireReader(body)
        let reply = try Reply(from: &reader)
        guard reader.isAtEnd else {
            throw FSError(.protocolViolation, "the reply to \(name) has \(reader.buffer.readableBytes) bytes left over")
        }
        return reply
    }

    /// A reply's wire form, as a server sends it.
    public static func encodeReply(_ reply: Reply) -> ByteBuffer {
        var writer = WireWriter(headroom: FSReplyEnvelope.successHeaderBytes)
        writer.write(reply)
        return writer.buffer
    }
}
