/// unlink as one request: the entry and metadata go in one transaction, then
/// the owner removes every datafile through a fan-out, then replies. An entry
/// whose object lives on another server is left alone, and the reply says which
/// server holds the object.
public struct RemoveFile: FSOperation {
    /// Code 30 on the wire, answered with ``RemoveFile/Outcome``; not idempotent, so the server records its reply and answers a resend from the record; changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, RemoveFile.Outcome>(code: 30, idempotent: false, commits: true, \.parent, \.name, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var parent: ObjectHandle, name: String
    /// The request as a client (or a peer server) sends it.
    public init(parent: ObjectHandle, name: String) { (self.parent, self.name) = (parent, name) }
}

extension RemoveFile {
    /// What an aggregate unlink did.
    public enum Outcome: Sendable, Hashable, WireCodable {
        /// The entry went; its object has `linksLeft` links left (0: it is gone, datafiles and all).
        case removed(linksLeft: UInt32)
        /// Nothing was done: the entry names an object on this other
        /// server (after a rename or link across servers), which the client
        /// removes step by step.
        case objectOnServer(UInt32)

        /// Writes which outcome, and its number.
        public func encode(into writer: inout WireWriter) {
            switch self {
            case .removed(let links):
                writer.write(UInt8(0))
                writer.write(links)
            case .objectOnServer(let server):
                writer.write(UInt8(1))
                writer.write(server)
            }
        }
        /// Reads an outcome; `protocolViolation` for an unknown one.
        public init(from reader: inout WireReader) throws {
            switch try reader.read(UInt8.self) {
            case 0: self = .removed(linksLeft: try reader.read())
            case 1: self = .objectOnServer(try reader.read())
            case let other: throw FSError(.protocolViolation, "unknown unlink outcome \(other)")
            }
        }
    }
}
