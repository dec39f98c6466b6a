import NIOCore
import TrellisFSDistribution

/// One server of a file system as the configuration lists it.
public struct ServerDescription: Sendable, Hashable, WireCodable {
    public var index: UInt32
    /// The service name it publishes (`trellis-fs/<fs>/<index>`).
    public var serviceName: String
    /// Its current port, or empty when the answering server does not know it.
    public var portName: String
    /// The host its configuration places it on (empty when unknown), so a
    /// server that does not answer can be named with its host.
    public var host: String

    public init(index: UInt32, serviceName: String, portName: String, host: String = "") {
        self.index = index
        self.serviceName = serviceName
        self.portName = portName
        self.host = host
    }

    public func encode(into writer: inout WireWriter) {
        writer.write(index)
        writer.write(serviceName)
        writer.write(portName)
        writer.write(host)
    }
    public init(from reader: inout WireReader) throws {
        self.init(index: try reader.read(), serviceName: try reader.readString(), portName: try reader.readString(), host: try reader.readString())
    }
}

/// What a client learns from any one server: enough to reach all of them.
public struct FSConfiguration: Sendable, Hashable, WireCodable {
    public var name: String
    public var servers: [ServerDescription]
    public var defaultDistribution: Distribution
    public var rootHandle: ObjectHandle

    public init(name: String, servers: [ServerDescription], defaultDistribution: Distribution, rootHandle: ObjectHandle = .root) {
        self.name = name
        self.servers = servers
        self.defaultDistribution = defaultDistribution
        self.rootHandle = rootHandle
    }

    public func encode(into writer: inout WireWriter) {
        writer.write(name)
        writer.write(servers)
        writer.write(defaultDistribution)
        writer.write(rootHandle)
    }
    public init(from reader: inout WireReader) throws {
        self.init(name: try reader.readString(), servers: try reader.readArray(), defaultDistribution: try reader.read(), rootHandle: try reader.read())
    }
}

/// Space and objects of one server (statfs sums them over all servers).
public struct FSStatistics: Sendable, Hashable, WireCodable {
    public var totalBytes: UInt64
    public var freeBytes: UInt64
    public var objectCount: UInt64

    public init(totalBytes: UInt64, freeBytes: UInt64, objectCount: UInt64) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.objectCount = objectCount
    }

    public func encode(into writer: inout WireWriter) {
        writer.write(totalBytes)
        writer.write(freeBytes)
        writer.write(objectCount)
    }
    public init(from reader: inout WireReader) throws {
        self.init(totalBytes: try reader.read(), freeBytes: try reader.read(), objectCount: try reader.read())
    }
}

/// One entry of a listing with its object's attributes.
public struct DetailedEntry: Sendable, Hashable, WireCodable {
    public var name: String
    public var attributes: ObjectAttributes

    public init(name: String, attributes: ObjectAttributes) {
        self.name = name
        self.attributes = attributes
    }

    public func encode(into writer: inout WireWriter) {
        writer.write(name)
        writer.write(attributes)
    }
    public init(from reader: inout WireReader) throws {
        self.init(name: try reader.readString(), attributes: try reader.read())
    }
}

/// What a successful request returns.
public enum FSReply: Sendable, Equatable {
    case done
    case configuration(FSConfiguration)
    case attributes(ObjectAttributes)
    case linkTarget(String)
    /// A page of a listing; `more` when entries remain after the last.
    case entries([DirectoryEntry], more: Bool)
    case statistics(FSStatistics)
    case data(ByteBuffer)
    case sizes([UInt64])
    case written(UInt64)
    /// A page of a listing with each entry's attributes.
    case detailedEntries([DetailedEntry], more: Bool)
    /// Objects made (datafiles).
    case handles([ObjectHandle])
    /// What a subtree of servers did for a fan-out.
    case fanOutResult(FanOutResult)
    /// An object's extended attribute names.
    case names([String])
    /// An unlink's result: the links its object has left (0: it is gone).
    case unlinked(remainingLinks: UInt32)
    /// A page of a server-wide object scan.
    case objects([ObjectAttributes], more: Bool)
    /// A page of a server-wide entry scan.
    case entryRecords([EntryRecord], more: Bool)

    var tag: UInt8 {
        switch self {
        case .done: return 1
        case .configuration: return 2
        case .attributes: return 3
        case .linkTarget: return 4
        case .entries: return 5
        case .statistics: return 6
        case .data: return 7
        case .sizes: return 8
        case .written: return 9
        case .detailedEntries: return 10
        case .handles: return 11
        case .fanOutResult: return 12
        case .names: return 13
        case .unlinked: return 14
        case .objects: return 15
        case .entryRecords: return 16
        }
    }
}

/// A reply with the id of the request it answers: the result or the error.
public struct FSReplyEnvelope: Sendable, Equatable {
    public var requestID: UInt64
    public var result: Result<FSReply, FSError>
    /// Message time steps from the request's arrival to this reply's
    /// sending, counting one per message on the critical path: 1 for a
    /// request the server answered alone, more for one it fanned out to
    /// other servers (Fig. 4 of the persistent-services paper, Latham, Ross
    /// and Thakur, "Can MPI Be Used for Persistent Parallel Services?").
    public var steps: UInt32

    public init(requestID: UInt64, result: Result<FSReply, FSError>, steps: UInt32 = 1) {
        self.requestID = requestID
        self.result = result
        self.steps = steps
    }

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
        case .success(let reply):
            writer.write(reply.tag)
            switch reply {
            case .done: break
            case .configuration(let configuration): writer.write(configuration)
            case .attributes(let attributes): writer.write(attributes)
            case .linkTarget(let target): writer.write(target)
            case .entries(let entries, let more):
                writer.write(entries)
                writer.write(more)
            case .statistics(let statistics): writer.write(statistics)
            case .data(let data): writer.write(bytes: data)
            case .sizes(let sizes):
                writer.write(UInt32(sizes.count))
                for size in sizes { writer.write(size) }
            case .written(let count): writer.write(count)
            case .detailedEntries(let entries, let more):
                writer.write(entries)
                writer.write(more)
            case .handles(let handles): writer.write(handles)
            case .fanOutResult(let result): writer.write(result)
            case .names(let names):
                writer.write(UInt32(names.count))
                for name in names { writer.write(name) }
            case .unlinked(let remaining): writer.write(remaining)
            case .objects(let objects, let more):
                writer.write(objects)
                writer.write(more)
            case .entryRecords(let records, let more):
                writer.write(records)
                writer.write(more)
            }
        }
        return writer.buffer
    }

    public static func decode(_ buffer: ByteBuffer) throws -> FSReplyEnvelope {
        var reader = WireReader(buffer)
        let version: UInt16 = try reader.read()
        guard version == FSRequestEnvelope.protocolVersion else {
            throw FSError(.protocolViolation, "reply protocol version \(version) is not \(FSRequestEnvelope.protocolVersion)")
        }
        let requestID: UInt64 = try reader.read()
        let steps: UInt32 = try reader.read()
        let tag: UInt8 = try reader.read()
        let result: Result<FSReply, FSError>
        switch tag {
        case 0:
            let name = try reader.readString()
            let errno: Int32 = try reader.read()
            result = .failure(FSError(.named(name, errno: errno), try reader.readString()))
        case 1: result = .success(.done)
        case 2: result = .success(.configuration(try reader.read()))
        case 3: result = .success(.attributes(try reader.read()))
        case 4: result = .success(.linkTarget(try reader.readString()))
        case 5: result = .success(.entries(try reader.readArray(), more: try reader.readBool()))
        case 6: result = .success(.statistics(try reader.read()))
        case 7: result = .success(.data(try reader.readBytes()))
        case 8:
            let count = Int(try reader.read(UInt32.self))
            guard count <= Distribution.maximumDatafiles else { throw FSError(.protocolViolation, "\(count) sizes") }
            result = .success(.sizes(try (0..<count).map { _ in try reader.read(UInt64.self) }))
        case 9: result = .success(.written(try reader.read()))
        case 10: result = .success(.detailedEntries(try reader.readArray(), more: try reader.readBool()))
        case 11: result = .success(.handles(try reader.readArray()))
        case 12: result = .success(.fanOutResult(try reader.read()))
        case 13:
            let count = Int(try reader.read(UInt32.self))
            guard count <= reader.buffer.readableBytes else { throw FSError(.protocolViolation, "\(count) names run past the message's end") }
            result = .success(.names(try (0..<count).map { _ in try reader.readString() }))
        case 14: result = .success(.unlinked(remainingLinks: try reader.read()))
        case 15: result = .success(.objects(try reader.readArray(), more: try reader.readBool()))
        case 16: result = .success(.entryRecords(try reader.readArray(), more: try reader.readBool()))
        default: throw FSError(.protocolViolation, "reply to request \(requestID) has unknown kind \(tag)")
        }
        guard reader.isAtEnd else {
            throw FSError(.protocolViolation, "reply to request \(requestID) has \(reader.buffer.readableBytes) bytes left over")
        }
        return FSReplyEnvelope(requestID: requestID, result: result, steps: steps)
    }
}
