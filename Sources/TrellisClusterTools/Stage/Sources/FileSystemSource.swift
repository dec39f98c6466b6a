import NIOCore
import TrellisFSClient
import TrellisFSProtocol

/// A source in a Trellis file system, `fs:/path` (or `fs:/path/` for a
/// directory's contents), read by rank 0 through the file-system client:
/// the same names, modes, owners, times, symlinks and hard links as a local
/// tree, and each file's bytes read from all its data servers at once.
enum FileSystemSource {
    /// A file's attributes, which reading it needs (its distribution and datafiles).
    struct Object: @unchecked Sendable {
        let attributes: ObjectAttributes
    }

    static let prefix = "fs:"

    static func add(_ source: String, client: FileSystemClient, to builder: inout ManifestBuilder) throws {
        let path = String(source.dropFirst(prefix.count))
        guard path.hasPrefix("/") else { throw StageSourceError("\(source): a file-system path starts with a slash (fs:/dir/file)") }
        let attributes: ObjectAttributes
        do {
            attributes = try client.stat(path, followLast: false)
        } catch {
            throw StageSourceError("cannot read the source \(source): \(error)")
        }
        if path.hasSuffix("/"), attributes.kind == .directory {
            try walkDirectory(attributes, at: source, as: "", client: client, into: &builder)
            return
        }
        let name = String(LocalSource.trimmingSlashes(path).split(separator: "/").last ?? "")
        guard !name.isEmpty else { throw StageSourceError("\(source): name a directory, or give fs:/ with its slash for the whole file system") }
        try add(attributes, at: source, as: name, client: client, into: &builder)
    }

    private static func add(_ attributes: ObjectAttributes, at location: String, as path: String, client: FileSystemClient, into builder: inout ManifestBuilder) throws {
        var entry = StageEntry(
            path: path, kind: .file, mode: attributes.mode & 0o7777, uid: attributes.uid, gid: attributes.gid,
            modified: attributes.modifyTime)
        switch attributes.kind {
        case .directory:
            entry.kind = .directory
            try builder.add(entry, origin: .none)
            try walkDirectory(attributes, at: location, as: path, client: client, into: &builder)
        case .file:
            entry.size = Int64(try client.size(of: attributes))
            try builder.add(entry, origin: .fileSystem(Object(attributes: attributes)), identity: attributes.linkCount > 1 ? attributes.handle : nil)
        case .symlink:
            entry.kind = .symlink
            do {
                entry.target = try client.readLink(of: attributes.handle)
            } catch {
                throw StageSourceError("cannot read the link \(location): \(error)")
            }
            try builder.add(entry, origin: .none)
        default:
            builder.skip(location)
        }
    }

    private static func walkDirectory(
        _ directory: ObjectAttributes, at location: String, as path: String, client: FileSystemClient, into builder: inout ManifestBuilder
    ) throws {
        var children: [DetailedEntry] = []
        var after: String?
        do {
            while true {
                let page = try client.readDirectoryWithAttributes(directory.handle, after: after, limit: 512)
                children += page.entries
                guard page.more, let last = page.entries.last else { break }
                after = last.name
            }
        } catch {
            throw StageSourceError("cannot list the directory \(location): \(error)")
        }
        let base = location.hasSuffix("/") ? location : location + "/"
        for child in children.sorted(by: { $0.name < $1.name }) {
            try add(child.attributes, at: base + child.name, as: path.isEmpty ? child.name : path + "/" + child.name, client: client, into: &builder)
        }
    }

    /// Reads `length` bytes of `object` at `offset`.
    static func read(_ object: Object, at offset: Int64, length: Int, client: FileSystemClient) throws -> ByteBuffer {
        try client.read(object.attributes, at: UInt64(offset), length: UInt64(length))
    }
}
