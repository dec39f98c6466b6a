import NIOCore
import TrellisFSDistribution

/// Every request a client (or another server) sends a file-system server.
/// Metadata requests go to the server that owns the handle they name; data
/// requests go to the server that holds the datafile.
public enum FSRequest: Sendable, Equatable {
    /// The file system's name, servers and defaults.
    case getConfiguration
    case lookup(parent: ObjectHandle, name: String)
    case getAttributes(ObjectHandle)
    case setAttributes(ObjectHandle, AttributeChanges)
    /// A new file in `parent` (on the parent's server), striped by
    /// `distribution` or the directory's default. `stuffed`: only its first
    /// datafile is made, with the metadata, until it grows past one strip.
    case createFile(parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution?, stuffed: Bool)
    case makeDirectory(parent: ObjectHandle, name: String, mode: UInt32)
    case symlink(parent: ObjectHandle, name: String, target: String)
    case readLink(ObjectHandle)
    /// unlink (`directory` false) or rmdir (true).
    case remove(parent: ObjectHandle, name: String, directory: Bool)
    case rename(fromParent: ObjectHandle, fromName: String, toParent: ObjectHandle, toName: String)
    /// Up to `limit` entries whose names sort after `after` (nil: from the start).
    case readDirectory(ObjectHandle, after: String?, limit: UInt32)
    case statFileSystem
    /// Bytes of one datafile at physical regions, returned packed in order.
    case read(datafile: ObjectHandle, regions: [AccessPattern.Region])
    /// Bytes for one datafile's physical regions, packed in order.
    case write(datafile: ObjectHandle, regions: [AccessPattern.Region], data: ByteBuffer)
    case datafileSizes([ObjectHandle])
    case truncateDatafile(ObjectHandle, size: UInt64)
    case syncDatafiles([ObjectHandle])
    /// Deletes datafile objects and their data (the client's half of a remove).
    case removeDatafiles([ObjectHandle])
    /// A directory object with no entry yet, on the server that receives it;
    /// the client then adds its entry on the parent's server (PVFS2's mkdir).
    case createDirectoryObject(mode: UInt32, distribution: Distribution?)
    /// An entry naming an object that may live on another server.
    case addEntry(parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind)
    /// Points `name` at `handle` in one step, replacing what it named (the
    /// destination side of a rename across servers: the name never vanishes).
    case replaceEntry(parent: ObjectHandle, name: String, handle: ObjectHandle, kind: ObjectKind)
    /// Removes only the entry, and only if it still names `handle`; `owner`
    /// is the object's uid as its server reported it (for sticky directories).
    case removeEntry(parent: ObjectHandle, name: String, handle: ObjectHandle, owner: UInt32)
    /// A page of entries with their attributes (readdirplus); entries whose
    /// objects live on other servers carry only their kind (link count 0).
    case readDirectoryWithAttributes(ObjectHandle, after: String?, limit: UInt32)
    /// Deletes an object whose entry went (a directory only when empty; a
    /// file's datafiles on this server go with it).
    case removeObject(ObjectHandle)
    /// Gives a stuffed file the rest of its datafiles, made beforehand by
    /// the client (`createDatafiles`); `conflict` when it has them already.
    case spreadFile(ObjectHandle, datafiles: [ObjectHandle])
    /// Empty datafile objects on the server that receives it.
    case createDatafiles(count: UInt32)
    /// A file whose datafiles the client made itself (PVFS2's create
    /// without server help): the metadata and the entry in one step.
    case createFileWithDatafiles(parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution, datafiles: [ObjectHandle])
    /// A server's request to another: do `work` over `servers` (the receiver
    /// first) as a binomial tree and answer with the subtree's result.
    case fanOut(FanOutWork, servers: [UInt32])
    /// Attributes with the file's size, which the owner gathers from the
    /// data servers itself (one request from the client, Fig. 3 of the
    /// persistent-services paper, Latham, Ross and Thakur, "Can MPI Be Used
    /// for Persistent Parallel Services?").
    case stat(ObjectHandle)
    /// unlink as one request: the entry and metadata go in one transaction,
    /// then the owner removes every datafile through a fan-out, then replies.
    case removeFile(parent: ObjectHandle, name: String)
    /// Extended attributes (the `user.` namespace).
    case getExtendedAttribute(ObjectHandle, name: String)
    case setExtendedAttribute(ObjectHandle, name: String, value: ByteBuffer, mode: ExtendedAttributeName.SetMode)
    case listExtendedAttributes(ObjectHandle)
    case removeExtendedAttribute(ObjectHandle, name: String)
    /// A hard link, sent to the object's owner: one more link, and the
    /// entry too when `parent` lives there (one transaction); otherwise the
    /// client adds the entry on the parent's server next.
    case link(ObjectHandle, parent: ObjectHandle, name: String)
    /// mknod(2): a FIFO, UNIX socket or device node (`rdev`) in `parent`,
    /// metadata only, on the parent's server.
    case makeNode(parent: ObjectHandle, name: String, kind: ObjectKind, mode: UInt32, rdev: UInt64)

    // Maintenance (fsck), for uid 0 only.
    /// A page of this server's objects, datafiles included, by handle.
    case scanObjects(after: ObjectHandle?, limit: UInt32)
    /// A page of this server's directory entries, by directory and name.
    case scanEntries(after: EntryCursor?, limit: UInt32)
    /// Bstreams without a datafile object, last changed at least
    /// `graceSeconds` ago; removed too when `remove`.
    case orphanBstreams(graceSeconds: UInt32, remove: Bool)
    case setLinkCount(ObjectHandle, count: UInt32)
    /// Datafile objects made again under handles a file lists but this
    /// server lost (their data reads as a hole).
    case restoreDatafiles([ObjectHandle])
    /// The datafiles of other servers this server holds in its precreate
    /// pool (fsck counts them as referenced).
    case pooledDatafiles

    /// The numbers are part of the wire protocol.
    public var operation: UInt16 {
        switch self {
        case .getConfiguration: return 1
        case .lookup: return 2
        case .getAttributes: return 3
        case .setAttributes: return 4
        case .createFile: return 5
        case .makeDirectory: return 6
        case .symlink: return 7
        case .readLink: return 8
        case .remove: return 9
        case .rename: return 10
        case .readDirectory: return 11
        case .statFileSystem: return 12
        case .read: return 13
        case .write: return 14
        case .datafileSizes: return 15
        case .truncateDatafile: return 16
        case .syncDatafiles: return 17
        case .removeDatafiles: return 18
        case .createDirectoryObject: return 19
        case .addEntry: return 20
        case .removeEntry: return 21
        case .removeObject: return 22
        case .readDirectoryWithAttributes: return 23
        case .replaceEntry: return 24
        case .spreadFile: return 25
        case .createDatafiles: return 26
        case .createFileWithDatafiles: return 27
        case .fanOut: return 28
        case .stat: return 29
        case .removeFile: return 30
        case .getExtendedAttribute: return 31
        case .setExtendedAttribute: return 32
        case .listExtendedAttributes: return 33
        case .removeExtendedAttribute: return 34
        case .link: return 35
        case .scanObjects: return 36
        case .scanEntries: return 37
        case .orphanBstreams: return 38
        case .setLinkCount: return 39
        case .restoreDatafiles: return 40
        case .pooledDatafiles: return 41
        case .makeNode: return 42
        }
    }

    /// Whether sending it twice does no harm, so a client may retry it after a lost reply.
    public var isIdempotent: Bool {
        switch self {
        case .createFile, .makeDirectory, .symlink, .remove, .rename, .createDirectoryObject, .addEntry, .replaceEntry, .removeEntry, .removeObject,
             .spreadFile, .createDatafiles, .createFileWithDatafiles, .removeFile, .setExtendedAttribute, .removeExtendedAttribute, .link, .makeNode:
            return false
        case .fanOut:
            // Removals and sizes are; a creation done twice leaves unused datafiles, which fsck removes.
            return true
        default: return true
        }
    }
}

/// A request with what every request carries: a per-client unique id and
/// the caller's credentials.
public struct FSRequestEnvelope: Sendable, Equatable {
    public static let protocolVersion: UInt16 = 4

    public var requestID: UInt64
    public var credentials: Credentials
    public var request: FSRequest

    public init(requestID: UInt64, credentials: Credentials, request: FSRequest) {
        self.requestID = requestID
        self.credentials = credentials
        self.request = request
    }

    public func encoded() -> ByteBuffer {
        var writer = WireWriter()
        writer.write(Self.protocolVersion)
        writer.write(request.operation)
        writer.write(requestID)
        writer.write(credentials)
        switch request {
        case .getConfiguration, .statFileSystem, .pooledDatafiles:
            break
        case .lookup(let parent, let name):
            writer.write(parent)
            writer.write(name)
        case .getAttributes(let handle), .readLink(let handle), .removeObject(let handle):
            writer.write(handle)
        case .createDirectoryObject(let mode, let distribution):
            writer.write(mode)
            writer.write(optional: distribution)
        case .addEntry(let parent, let name, let handle, let kind), .replaceEntry(let parent, let name, let handle, let kind):
            writer.write(parent)
            writer.write(name)
            writer.write(handle)
            writer.write(kind)
        case .removeEntry(let parent, let name, let handle, let owner):
            writer.write(parent)
            writer.write(name)
            writer.write(handle)
            writer.write(owner)
        case .setAttributes(let handle, let changes):
            writer.write(handle)
            writer.write(changes)
        case .createFile(let parent, let name, let mode, let distribution, let stuffed):
            writer.write(parent)
            writer.write(name)
            writer.write(mode)
            writer.write(optional: distribution)
            writer.write(stuffed)
        case .createFileWithDatafiles(let parent, let name, let mode, let distribution, let datafiles):
            writer.write(parent)
            writer.write(name)
            writer.write(mode)
            writer.write(distribution)
            writer.write(datafiles)
        case .spreadFile(let file, let datafiles):
            writer.write(file)
            writer.write(datafiles)
        case .createDatafiles(let count):
            writer.write(count)
        case .fanOut(let work, let servers):
            writer.write(work)
            writer.write(UInt32(servers.count))
            for server in servers { writer.write(server) }
        case .stat(let handle), .listExtendedAttributes(let handle):
            writer.write(handle)
        case .getExtendedAttribute(let handle, let name), .removeExtendedAttribute(let handle, let name):
            writer.write(handle)
            writer.write(name)
        case .setExtendedAttribute(let handle, let name, let value, let mode):
            writer.write(handle)
            writer.write(name)
            writer.write(bytes: value)
            writer.write(mode.rawValue)
        case .removeFile(let parent, let name):
            writer.write(parent)
            writer.write(name)
        case .link(let handle, let parent, let name):
            writer.write(handle)
            writer.write(parent)
            writer.write(name)
        case .scanObjects(let after, let limit):
            writer.write(optional: after)
            writer.write(limit)
        case .scanEntries(let after, let limit):
            writer.write(optional: after)
            writer.write(limit)
        case .orphanBstreams(let graceSeconds, let remove):
            writer.write(graceSeconds)
            writer.write(remove)
        case .setLinkCount(let handle, let count):
            writer.write(handle)
            writer.write(count)
        case .restoreDatafiles(let datafiles):
            writer.write(datafiles)
        case .makeDirectory(let parent, let name, let mode):
            writer.write(parent)
            writer.write(name)
            writer.write(mode)
        case .symlink(let parent, let name, let target):
            writer.write(parent)
            writer.write(name)
            writer.write(target)
        case .makeNode(let parent, let name, let kind, let mode, let rdev):
            writer.write(parent)
            writer.write(name)
            writer.write(kind)
            writer.write(mode)
            writer.write(rdev)
        case .remove(let parent, let name, let directory):
            writer.write(parent)
            writer.write(name)
            writer.write(directory)
        case .rename(let fromParent, let fromName, let toParent, let toName):
            writer.write(fromParent)
            writer.write(fromName)
            writer.write(toParent)
            writer.write(toName)
        case .readDirectory(let handle, let after, let limit), .readDirectoryWithAttributes(let handle, let after, let limit):
            writer.write(handle)
            writer.write(after != nil)
            if let after { writer.write(after) }
            writer.write(limit)
        case .read(let datafile, let regions):
            writer.write(datafile)
            writer.write(regions)
        case .write(let datafile, let regions, let data):
            writer.write(datafile)
            writer.write(regions)
            writer.write(bytes: data)
        case .datafileSizes(let datafiles), .syncDatafiles(let datafiles), .removeDatafiles(let datafiles):
            writer.write(datafiles)
        case .truncateDatafile(let datafile, let size):
            writer.write(datafile)
            writer.write(size)
        }
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
        let operation: UInt16 = try reader.read()
        let requestID: UInt64 = try reader.read()
        let credentials: Credentials = try reader.read()
        func handles() throws -> [ObjectHandle] {
            let handles: [ObjectHandle] = try reader.readArray()
            guard handles.count <= Distribution.maximumDatafiles else { throw FSError(.protocolViolation, "\(handles.count) datafiles") }
            return handles
        }
        let request: FSRequest
        switch operation {
        case 1: request = .getConfiguration
        case 2: request = .lookup(parent: try reader.read(), name: try reader.readString())
        case 3: request = .getAttributes(try reader.read())
        case 4: request = .setAttributes(try reader.read(), try reader.read())
        case 5:
            request = .createFile(
                parent: try reader.read(), name: try reader.readString(), mode: try reader.read(), distribution: try reader.readOptional(Distribution.self),
                stuffed: try reader.readBool())
        case 6: request = .makeDirectory(parent: try reader.read(), name: try reader.readString(), mode: try reader.read())
        case 7: request = .symlink(parent: try reader.read(), name: try reader.readString(), target: try reader.readString())
        case 8: request = .readLink(try reader.read())
        case 9: request = .remove(parent: try reader.read(), name: try reader.readString(), directory: try reader.readBool())
        case 10:
            request = .rename(fromParent: try reader.read(), fromName: try reader.readString(), toParent: try reader.read(), toName: try reader.readString())
        case 11:
            let handle: ObjectHandle = try reader.read()
            let after = try reader.readBool() ? try reader.readString() : nil
            request = .readDirectory(handle, after: after, limit: try reader.read())
        case 12: request = .statFileSystem
        case 13: request = .read(datafile: try reader.read(), regions: try reader.readArray())
        case 14: request = .write(datafile: try reader.read(), regions: try reader.readArray(), data: try reader.readBytes())
        case 15: request = .datafileSizes(try handles())
        case 16: request = .truncateDatafile(try reader.read(), size: try reader.read())
        case 17: request = .syncDatafiles(try handles())
        case 18: request = .removeDatafiles(try handles())
        case 19: request = .createDirectoryObject(mode: try reader.read(), distribution: try reader.readOptional(Distribution.self))
        case 20: request = .addEntry(parent: try reader.read(), name: try reader.readString(), handle: try reader.read(), kind: try reader.read())
        case 21: request = .removeEntry(parent: try reader.read(), name: try reader.readString(), handle: try reader.read(), owner: try reader.read())
        case 22: request = .removeObject(try reader.read())
        case 24: request = .replaceEntry(parent: try reader.read(), name: try reader.readString(), handle: try reader.read(), kind: try reader.read())
        case 23:
            let handle: ObjectHandle = try reader.read()
            let after = try reader.readBool() ? try reader.readString() : nil
            request = .readDirectoryWithAttributes(handle, after: after, limit: try reader.read())
        case 25: request = .spreadFile(try reader.read(), datafiles: try handles())
        case 26: request = .createDatafiles(count: try reader.read())
        case 27:
            request = .createFileWithDatafiles(
                parent: try reader.read(), name: try reader.readString(), mode: try reader.read(), distribution: try reader.read(), datafiles: try handles())
        case 28:
            let work: FanOutWork = try reader.read()
            let count = Int(try reader.read(UInt32.self))
            guard count >= 1, count <= ObjectHandle.maximumServers, count * 4 <= reader.buffer.readableBytes else {
                throw FSError(.protocolViolation, "a fan-out over \(count) servers")
            }
            request = .fanOut(work, servers: try (0..<count).map { _ in try reader.read(UInt32.self) })
        case 29: request = .stat(try reader.read())
        case 30: request = .removeFile(parent: try reader.read(), name: try reader.readString())
        case 31: request = .getExtendedAttribute(try reader.read(), name: try reader.readString())
        case 32:
            let handle: ObjectHandle = try reader.read()
            let name = try reader.readString()
            let value = try reader.readBytes()
            let raw: UInt8 = try reader.read()
            guard let mode = ExtendedAttributeName.SetMode(rawValue: raw) else { throw FSError(.protocolViolation, "unknown xattr set mode \(raw)") }
            request = .setExtendedAttribute(handle, name: name, value: value, mode: mode)
        case 33: request = .listExtendedAttributes(try reader.read())
        case 34: request = .removeExtendedAttribute(try reader.read(), name: try reader.readString())
        case 35: request = .link(try reader.read(), parent: try reader.read(), name: try reader.readString())
        case 36: request = .scanObjects(after: try reader.readOptional(ObjectHandle.self), limit: try reader.read())
        case 37: request = .scanEntries(after: try reader.readOptional(EntryCursor.self), limit: try reader.read())
        case 38: request = .orphanBstreams(graceSeconds: try reader.read(), remove: try reader.readBool())
        case 39: request = .setLinkCount(try reader.read(), count: try reader.read())
        case 40: request = .restoreDatafiles(try handles())
        case 41: request = .pooledDatafiles
        case 42:
            request = .makeNode(parent: try reader.read(), name: try reader.readString(), kind: try reader.read(), mode: try reader.read(), rdev: try reader.read())
        default: throw FSError(.protocolViolation, "request \(requestID) has unknown operation \(operation)")
        }
        guard reader.isAtEnd else {
            throw FSError(.protocolViolation, "request \(requestID) (operation \(operation)) has \(reader.buffer.readableBytes) bytes left over")
        }
        return FSRequestEnvelope(requestID: requestID, credentials: credentials, request: request)
    }
}
