import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

/// Turns one request into its reply, against this server's stores. Every
/// failure becomes an error reply that names what failed; nothing a client
/// sends can stop the server.
public struct RequestHandler: Sendable {
    public let context: ServerContext

    public init(context: ServerContext) { self.context = context }

    public func handle(_ envelope: FSRequestEnvelope) -> (reply: FSReplyEnvelope, followUps: [FollowUp]) {
        var followUps: [FollowUp] = []
        var steps = 1
        let result: Result<FSReply, FSError>
        do {
            result = .success(try dispatch(envelope.request, credentials: envelope.credentials, followUps: &followUps, steps: &steps))
        } catch let error as FSError {
            result = .failure(error)
        } catch {
            result = .failure(FSError(.ioError, "server \(context.serverIndex): \(error)"))
        }
        return (FSReplyEnvelope(requestID: envelope.requestID, result: result, steps: UInt32(steps)), followUps)
    }

    /// Whether answering may wait on other servers: the serving loop hands
    /// these to a thread of their own so it never blocks on a peer. A file
    /// whose datafiles all live here (every stuffed file) needs no peer to
    /// be removed or sized, so those stay in the loop and its group commit.
    public func mayWaitOnPeers(_ request: FSRequest) -> Bool {
        switch request {
        case .fanOut(_, let servers): return servers.count > 1
        case .stat(let handle): return !hasOnlyLocalDatafiles(handle)
        case .removeFile(let parent, let name):
            guard let entry = try? context.metadata.entry(in: parent, named: name) else { return false }
            return !hasOnlyLocalDatafiles(entry.handle)
        // With a datafile of every other server in the pool, neither waits on a peer.
        case .createFile(_, _, _, _, let stuffed): return !stuffed && !(context.pool?.holdsEveryServer ?? false)
        case .spreadFile(_, let datafiles): return datafiles.isEmpty && !(context.pool?.holdsEveryServer ?? false)
        // Sticky directories and moved directories need the owner and mode of objects that may live elsewhere.
        case .rename(let fromParent, let fromName, let toParent, let toName):
            return namesRemoteObject(fromParent, fromName) || namesRemoteObject(toParent, toName)
        case .replaceEntry(let parent, let name, _, _): return namesRemoteObject(parent, name)
        default: return false
        }
    }

    /// Whether answering changes no metadata, so it needs no commit at all.
    public static func onlyReads(_ request: FSRequest) -> Bool {
        switch request {
        case .getConfiguration, .lookup, .getAttributes, .stat, .readDirectory, .readDirectoryWithAttributes, .readLink, .statFileSystem,
             .read, .datafileSizes, .getExtendedAttribute, .listExtendedAttributes, .scanObjects, .scanEntries, .pooledDatafiles:
            return true
        default:
            return false
        }
    }

    /// Whether `name` in `parent` names an object of another server.
    private func namesRemoteObject(_ parent: ObjectHandle, _ name: String) -> Bool {
        guard let entry = try? context.metadata.entry(in: parent, named: name) else { return false }
        return entry.handle.server != context.serverIndex
    }

    /// Whether `handle` is an object of this server whose datafiles are all here too.
    private func hasOnlyLocalDatafiles(_ handle: ObjectHandle) -> Bool {
        guard handle.server == context.serverIndex, let attributes = try? context.metadata.attributes(of: handle) else { return false }
        return attributes.datafiles.allSatisfy { $0.server == context.serverIndex }
    }

    private func dispatch(_ request: FSRequest, credentials: Credentials, followUps: inout [FollowUp], steps: inout Int) throws -> FSReply {
        switch request {
        case .getConfiguration:
            return .configuration(context.configuration)
        case .lookup(let parent, let name):
            return .attributes(try withLocalSize(try lookup(parent, name, credentials)))
        case .getAttributes(let handle):
            return .attributes(try withLocalSize(try object(handle)))
        case .setAttributes(let handle, let changes):
            return .attributes(try withLocalSize(try setAttributes(handle, changes, credentials)))
        case .createFile(let parent, let name, let mode, let distribution, let stuffed):
            if !stuffed, context.peers != nil {
                return .attributes(try createSpreadFile(parent, name, mode, distribution, credentials, steps: &steps))
            }
            return .attributes(try withLocalSize(try createFile(parent, name, mode, distribution, stuffed: stuffed, credentials)))
        case .createFileWithDatafiles(let parent, let name, let mode, let distribution, let datafiles):
            return .attributes(try createFile(parent, name, mode, distribution, datafiles: datafiles, credentials))
        case .spreadFile(let file, let datafiles):
            if datafiles.isEmpty, context.peers != nil { return .attributes(try spreadFile(file, credentials, steps: &steps)) }
            return .attributes(try withLocalSize(try spreadFile(file, datafiles, credentials)))
        case .fanOut(let work, let servers):
            let (result, fanOutSteps) = try fanOut(work, over: servers)
            steps = fanOutSteps
            return .fanOutResult(result)
        case .stat(let handle):
            return .attributes(try stat(handle, steps: &steps))
        case .removeFile(let parent, let name):
            return .unlinked(remainingLinks: try removeFile(parent, name, credentials, steps: &steps).remainingLinks)
        case .link(let handle, let parent, let name):
            return .attributes(try link(handle, parent, name, credentials))
        case .scanObjects, .scanEntries, .orphanBstreams, .setLinkCount, .restoreDatafiles, .pooledDatafiles:
            return try maintain(request, credentials)
        case .getExtendedAttribute(let handle, let name):
            return .data(try extendedAttribute(handle, name, credentials))
        case .setExtendedAttribute(let handle, let name, let value, let mode):
            try setExtendedAttribute(handle, name, value, mode, credentials)
            return .done
        case .listExtendedAttributes(let handle):
            return .names(try extendedAttributeNames(handle, credentials))
        case .removeExtendedAttribute(let handle, let name):
            try removeExtendedAttribute(handle, name, credentials)
            return .done
        case .createDatafiles(let count):
            return .handles(try context.metadata.createDatafiles(count: Int(count), at: context.now()))
        case .makeDirectory(let parent, let name, let mode):
            return .attributes(try makeDirectory(parent, name, mode, credentials))
        case .symlink(let parent, let name, let target):
            return .attributes(try symlink(parent, name, target, credentials))
        case .readLink(let handle):
            return .linkTarget(try readLink(handle))
        case .makeNode(let parent, let name, let kind, let mode, let rdev):
            return .attributes(try makeNode(parent, name, kind, mode, rdev, credentials))
        case .remove(let parent, let name, let directory):
            return unlinkedReply(try remove(parent, name, directory: directory, credentials), &followUps)
        case .rename(let fromParent, let fromName, let toParent, let toName):
            guard let unlinked = try rename(fromParent, fromName, toParent, toName, credentials) else { return .done }
            return unlinkedReply(unlinked, &followUps)
        case .readDirectory(let handle, let after, let limit):
            let page = try readDirectory(handle, after: after, limit: limit, credentials)
            return .entries(page.entries, more: page.more)
        case .statFileSystem:
            return .statistics(try statistics())
        case .read(let datafile, let regions):
            return .data(try context.bstreams.read(datafile: try checkDatafile(datafile), regions: regions, maximumBytes: context.maximumTransferBytes))
        case .write(let datafile, let regions, let data):
            guard data.readableBytes <= context.maximumTransferBytes else {
                throw FSError(.invalidArgument, "a write of \(data.readableBytes) bytes is above the \(context.maximumTransferBytes)-byte limit of one request")
            }
            return .written(try context.bstreams.write(datafile: try checkDatafile(datafile), regions: regions, data: data))
        case .datafileSizes(let datafiles):
            return .sizes(try datafiles.map { try context.bstreams.size(datafile: try checkDatafile($0)) })
        case .truncateDatafile(let datafile, let size):
            guard size <= Distribution.maximumOffset else { throw FSError(.invalidArgument, "a datafile of \(size) bytes is beyond the largest offset") }
            try context.bstreams.truncate(datafile: try checkDatafile(datafile), size: size)
            return .done
        case .syncDatafiles(let datafiles):
            for datafile in datafiles { try context.bstreams.sync(datafile: try checkDatafile(datafile)) }
            return .done
        case .removeDatafiles(let datafiles):
            let here = datafiles.filter { $0.server == context.serverIndex }
            try context.metadata.deleteDatafiles(here)
            followUps.append(.removeBstreams(here))
            return .done
        case .createDirectoryObject(let mode, let distribution):
            return .attributes(try context.metadata.createObject(NewObject(
                kind: .directory, mode: mode & 0o3777, uid: credentials.uid, gid: credentials.gid, time: context.now(), distribution: distribution)))
        case .addEntry(let parent, let name, let handle, let kind):
            try addEntry(parent, name, handle, kind, credentials)
            return .done
        case .replaceEntry(let parent, let name, let handle, let kind):
            try replaceEntry(parent, name, handle, kind, credentials)
            return .done
        case .removeEntry(let parent, let name, let handle, let owner):
            try removeEntry(parent, name, handle, owner: owner, credentials)
            return .done
        case .readDirectoryWithAttributes(let handle, let after, let limit):
            let page = try readDirectory(handle, after: after, limit: limit, credentials)
            return .detailedEntries(try page.entries.map { entry in
                DetailedEntry(name: entry.name, attributes: try context.metadata.attributes(of: entry.handle).map(withLocalSize) ?? remoteStub(entry))
            }, more: page.more)
        case .removeObject(let handle):
            return unlinkedReply(try removeObject(handle), &followUps)
        }
    }

    /// The reply to a dropped link, with the removal of a deleted file's bstreams here to follow it.
    private func unlinkedReply(_ unlinked: Unlinked, _ followUps: inout [FollowUp]) -> FSReply {
        if let followUp = localBstreams(unlinked) { followUps.append(followUp) }
        return .unlinked(remainingLinks: unlinked.remainingLinks)
    }

    // MARK: Shared checks

    /// A datafile this server holds; `staleHandle` for any other handle
    /// (a removed file's datafile, or garbage), so no bstream is made for it.
    func checkDatafile(_ handle: ObjectHandle) throws -> ObjectHandle {
        guard try context.metadata.isDatafile(handle) else {
            throw FSError(.staleHandle, "datafile \(handle) does not exist on server \(context.serverIndex)")
        }
        return handle
    }

    /// A file's attributes with its size when all its datafiles live here
    /// (a stuffed file's always do), so most small files need no second request.
    func withLocalSize(_ attributes: ObjectAttributes) throws -> ObjectAttributes {
        guard attributes.kind == .file, !attributes.sizeIsKnown, let distribution = attributes.distribution,
              attributes.datafiles.allSatisfy({ $0.server == context.serverIndex })
        else { return attributes }
        // A stuffed file's missing datafiles hold nothing: logicalSize reads only the sizes it gets.
        let sizes = try attributes.datafiles.map { try context.bstreams.size(datafile: $0) }
        var filled = attributes
        filled.size = distribution.logicalSize(datafileSizes: sizes)
        filled.sizeIsKnown = true
        return filled
    }

    /// What this server can say of an entry whose object lives elsewhere:
    /// its handle and kind (link count 0 tells the client to ask the owner).
    func remoteStub(_ entry: DirectoryEntry) -> ObjectAttributes {
        let zero = Timestamp(seconds: 0)
        return ObjectAttributes(
            handle: entry.handle, kind: entry.kind, mode: 0, uid: 0, gid: 0, accessTime: zero, modifyTime: zero, changeTime: zero,
            linkCount: 0, size: 0, distribution: nil)
    }

    /// An object this server owns; `staleHandle` for one it does not (any
    /// more), naming the server that does.
    func object(_ handle: ObjectHandle) throws -> ObjectAttributes {
        guard handle.server == context.serverIndex else {
            throw FSError(.staleHandle, "handle \(handle) belongs to server \(handle.server.map(String.init) ?? "none"), not server \(context.serverIndex)")
        }
        guard let attributes = try context.metadata.attributes(of: handle) else {
            throw FSError(.staleHandle, "object \(handle) does not exist on server \(context.serverIndex)")
        }
        return attributes
    }

    /// A directory that `credentials` may search (1) and, when asked, change (2).
    func directory(_ handle: ObjectHandle, _ credentials: Credentials, write: Bool) throws -> ObjectAttributes {
        let directory = try object(handle)
        guard directory.kind == .directory else { throw FSError(.notDirectory, "object \(handle) is not a directory") }
        let needed: UInt32 = write ? 3 : 1
        guard directory.allows(needed, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not \(write ? "change" : "search") directory \(handle)")
        }
        return directory
    }

    /// An object's attributes wherever it lives: another server's are asked
    /// of it (nil without peers, as in a handler under test, or when it is gone).
    func anyObject(_ handle: ObjectHandle) throws -> ObjectAttributes? {
        if handle.server == context.serverIndex { return try context.metadata.attributes(of: handle) }
        guard let peers = context.peers, let server = handle.server else { return nil }
        do {
            let reply = try peers.call(.getAttributes(handle), to: server, deadline: .after(seconds: context.peerTimeoutSeconds)).reply
            guard case .attributes(let attributes) = reply else {
                throw FSError(.protocolViolation, "server \(server) answered getAttributes with \(reply)")
            }
            return attributes
        } catch let error as FSError where error.code == .staleHandle {
            return nil
        }
    }

    /// A directory moved to another parent gets a new "..": that takes write
    /// permission on the directory itself (Linux's vfs_rename).
    func checkMayMoveDirectory(_ moved: ObjectAttributes, _ credentials: Credentials) throws {
        guard moved.allows(2, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not write directory \(moved.handle), so may not move it to another parent")
        }
    }

    /// With the sticky bit, only the entry's owner, the directory's owner or root may remove or replace it.
    func checkSticky(_ directory: ObjectAttributes, entryOwner: UInt32, _ credentials: Credentials) throws {
        guard directory.mode & 0o1000 != 0, !credentials.isSuperuser, credentials.uid != entryOwner, credentials.uid != directory.uid else { return }
        throw FSError(.notPermitted, "directory \(directory.handle) is sticky: uid \(credentials.uid) may not remove another's entry")
    }
}
