import Glibc
import CFuse3
import Logging
import Synchronization
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol

/// The file system behind a mount: each FUSE request runs on one of
/// libfuse's worker threads with a client checked out for its caller, and
/// answers with exactly one reply.
final class MountedFileSystem: @unchecked Sendable {
    let pool: ClientPool
    let inodes: InodeNumbers
    let options: MountOptions
    let logger: Logger
    let openFiles = OpenFileTable()
    let directoryStreams = HandleTable<DirectoryStream>()
    /// What all opens' read-ahead may hold at once.
    let readAheadBudget = ReadAheadBudget(bytes: 256 << 20)
    let directoryAttributes: DirectoryAttributeCache
    let directoryNames: DirectoryNameCache
    let metrics: MountMetrics

    init(client: FileSystemClient, mountPoint: String, options: MountOptions, logger: Logger) {
        metrics = MountMetrics(mountPoint: mountPoint)
        client.timeoutSeconds = options.operationTimeout
        self.pool = ClientPool(first: client)
        self.inodes = InodeNumbers(root: client.configuration.rootHandle)
        self.options = options
        self.logger = logger
        directoryAttributes = DirectoryAttributeCache(lifetimeSeconds: options.attributeTimeout)
        directoryNames = DirectoryNameCache(lifetimeSeconds: options.negativeTimeout)
    }

    /// Runs one operation for the request's caller; a thrown error becomes
    /// the reply's errno (a server that could not be reached is EIO, logged).
    func perform(_ request: fuse_req_t, _ operation: StaticString, inode: UInt64, _ body: (FileSystemClient) throws -> Void) {
        let started = MonotonicClock.nanoseconds()
        var failure: Int32?
        defer { metrics.record(operation, nanoseconds: MonotonicClock.nanoseconds() &- started, errno: failure) }
        do {
            try pool.with(Self.credentials(of: request)) { try body($0) }
        } catch let error as FSError {
            let number = Self.errno(for: error)
            if number == EIO {
                logger.warning("\(operation) of inode \(inode) failed: \(error)")
            } else {
                logger.debug("\(operation) of inode \(inode): \(error)")
            }
            failure = number
            fuse_reply_err(request, number)
        } catch {
            logger.warning("\(operation) of inode \(inode) failed: \(error)")
            failure = EIO
            fuse_reply_err(request, EIO)
        }
    }

    /// Runs a change of these objects through this mount: their cached
    /// attributes go before it starts and again once it ends, before the
    /// caller replies (the kernel may ask for them the moment it hears).
    func changing<T>(_ handles: ObjectHandle..., body: () throws -> T) rethrows -> T {
        dropCached(handles)
        defer { dropCached(handles) }
        return try body()
    }

    /// What this mount keeps of these directories (attributes, names) goes.
    private func dropCached(_ handles: [ObjectHandle]) {
        directoryAttributes.changed(handles)
        directoryNames.forget(handles)
    }

    /// Runs a create of a directory, symlink or special file in
    /// `directory` and tells the caches what it made: the names known of
    /// `directory` go (its server's reply does not say what it held
    /// before), and a new directory is known to be empty.
    func making(in directory: ObjectHandle, _ body: () throws -> ObjectAttributes) rethrows -> ObjectAttributes {
        directoryNames.forget([directory])
        let made = try creating(in: directory, object: { $0 }, body)
        directoryNames.madeEmpty(made)
        return made
    }

    /// Runs a create of the file `name` in `directory`, whose reply shows
    /// whether the names known of `directory` are still all it holds.
    func making(file name: String, in directory: ObjectHandle, _ body: () throws -> Created) rethrows -> ObjectAttributes {
        let created = try creating(in: directory, object: \.object, body)
        directoryNames.created(name, in: directory, created)
        return created.object
    }

    private func creating<Made>(in directory: ObjectHandle, object: (Made) -> ObjectAttributes, _ body: () throws -> Made) rethrows -> Made {
        let began = directoryAttributes.beginChange(of: directory)
        do {
            let made = try body()
            directoryAttributes.made(object(made), in: directory, since: began)
            return made
        } catch {
            // A create that failed half-way (across servers) may have changed the directory.
            dropCached([directory])
            throw error
        }
    }

    /// Trellis's errors as the errno a program expects; the network's
    /// failures (after the client's retries) are EIO, as on any disk.
    static func errno(for error: FSError) -> Int32 {
        switch error.code {
        case .serverUnavailable, .timedOut, .protocolViolation, .ioError: return EIO
        default: return error.code.errno
        }
    }

    static func credentials(of request: fuse_req_t) -> Credentials {
        let context = fuse_req_ctx(request)!.pointee
        guard context.uid != 0 else { return Credentials(uid: 0, gid: context.gid) }
        var groups = [gid_t](repeating: 0, count: 64)
        let count = fuse_req_getgroups(request, Int32(groups.count), &groups)
        let known = count > 0 ? Array(groups.prefix(Int(min(count, Int32(groups.count))))) : []
        return Credentials(uid: context.uid, gid: context.gid, groups: known.map { UInt32($0) })
    }
}

/// Numbered objects that the kernel holds by a file handle (`fh`).
final class HandleTable<Value: AnyObject & Sendable>: Sendable {
    private let entries = Mutex<(next: UInt64, values: [UInt64: Value])>((1, [:]))

    func add(_ value: Value) -> UInt64 {
        entries.withLock { table in
            let number = table.next
            table.next += 1
            table.values[number] = value
            return number
        }
    }

    func get(_ number: UInt64) -> Value? {
        entries.withLock { $0.values[number] }
    }

    @discardableResult
    func remove(_ number: UInt64) -> Value? {
        entries.withLock { $0.values.removeValue(forKey: number) }
    }
}
