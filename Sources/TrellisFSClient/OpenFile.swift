import NIOCore
import TrellisFSDistribution
import TrellisFSProtocol

/// A file opened for reading and / or writing: its path resolved and its
/// permissions checked once; reads and writes then go straight to its data
/// servers; `close` makes what was written durable.
///
/// ```swift
/// let file = try fs.open("/results/out", access: .readWrite, create: true)
/// try file.write(ByteBuffer(string: "hello"), at: 0)
/// let back = try file.read(at: 0, length: 5)
/// try file.close()                 // synced on every data server
/// ```
public final class OpenFile: @unchecked Sendable {
    public enum Access: Sendable { case read, write, readWrite }

    public let path: String
    public let access: Access
    /// As last seen: a write past a stuffed file's first strip updates them.
    public private(set) var attributes: ObjectAttributes
    private let client: FileSystemClient
    private var isClosed = false
    private var wrote = false

    init(path: String, access: Access, attributes: ObjectAttributes, client: FileSystemClient) {
        self.path = path
        self.access = access
        self.attributes = attributes
        self.client = client
    }

    /// The file's size now (asked of its server, which gathers it from the data servers when it must).
    public func size() throws -> UInt64 {
        try checkOpen()
        attributes = try client.stat(handle: attributes.handle)
        return attributes.size
    }

    public func read(at offset: UInt64, length: UInt64) throws -> ByteBuffer {
        try check(.read)
        return try client.read(attributes, at: offset, length: length)
    }

    public func read(pattern: AccessPattern) throws -> ByteBuffer {
        try check(.read)
        return try client.read(attributes, pattern: pattern)
    }

    @discardableResult
    public func write(_ data: ByteBuffer, at offset: UInt64) throws -> UInt64 {
        try write(data, pattern: try AccessPattern.contiguous(offset: offset, length: UInt64(data.readableBytes)))
    }

    @discardableResult
    public func write(_ data: ByteBuffer, pattern: AccessPattern) throws -> UInt64 {
        try check(.write)
        wrote = true
        return try client.write(&attributes, data, pattern: pattern)
    }

    /// Makes what was written durable on every data server.
    public func sync() throws {
        try checkOpen()
        try client.sync(try client.current(attributes))
    }

    /// Sets the file's size (spreading a stuffed file that grows past its first strip).
    public func truncate(to size: UInt64) throws {
        try check(.write)
        wrote = true
        try client.truncate(&attributes, to: size)
    }

    /// Syncs (when something was written) and closes; later calls fail.
    public func close() throws {
        try checkOpen()
        isClosed = true
        if wrote { try client.sync(try client.current(attributes)) }
    }

    private func checkOpen() throws {
        if isClosed { throw FSError(.invalidArgument, "\(path) is closed") }
    }

    private func check(_ needed: Access) throws {
        try checkOpen()
        switch (needed, access) {
        case (.read, .write): throw FSError(.permissionDenied, "\(path) was opened for writing only")
        case (.write, .read): throw FSError(.permissionDenied, "\(path) was opened for reading only")
        default: break
        }
    }
}

extension FileSystemClient {
    /// Opens a regular file, checking the caller's permission for `access`
    /// (PVFS2 checks at open; data servers trust the client after that).
    public func open(_ path: String, access: OpenFile.Access = .read, create: Bool = false, mode: UInt32 = 0o644) throws -> OpenFile {
        if create, (try? resolve(path)) == nil {
            do {
                try createFile(path, mode: mode)
            } catch let error as FSError where error.code == .exists {
                // Made by someone else meanwhile: open theirs.
            }
        }
        return try open(try regularFile(path), path: path, access: access)
    }

    /// Opens a regular file already looked up (or just made); `path` names it in errors.
    public func open(_ file: ObjectAttributes, path: String, access: OpenFile.Access = .read) throws -> OpenFile {
        guard file.kind == .file, file.distribution != nil else {
            throw FSError(file.kind == .directory ? .isDirectory : .invalidArgument, "\(path) is not a regular file")
        }
        let needed: UInt32 = access == .read ? 4 : access == .write ? 2 : 6
        guard file.allows(needed, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not open \(path) for \(access)")
        }
        return OpenFile(path: path, access: access, attributes: file, client: self)
    }
}
