#if canImport(Glibc)
import Glibc
#endif
import TrellisCore

/// The sources of a stage on rank 0's host: the manifest every host gets,
/// and where each file's bytes are read from.
///
/// As cp -r and rsync name them: a directory `src` arrives as `DIR/src`,
/// `src/` (with the slash) puts its contents straight into DIR; a file
/// arrives under its own name. Symbolic links are staged as links, and a
/// file with several names in the sources is sent once and linked.
public struct SourceTree {
    public private(set) var manifest: StageManifest
    /// For each manifest entry, the local path its data (or link text) comes from.
    public private(set) var origins: [String]
    /// Sockets, devices and pipes, which are not staged (as rsync without -D).
    public private(set) var skipped: [String] = []

    private var firstNameOfInode: [FileIdentity: String] = [:]
    private var seenPaths: Set<String> = []

    public init(sources: [String], tag: String) throws {
        manifest = StageManifest(entries: [], tag: tag)
        origins = []
        for source in sources {
            guard !source.isEmpty else { throw TrellisError(.invalidArgument, "an empty source path") }
            var info = stat()
            guard lstat(source, &info) == 0 else { throw Self.failure("cannot read the source", source) }
            let contentsOnly = source.hasSuffix("/") && (info.st_mode & S_IFMT) == S_IFDIR
            if contentsOnly {
                try walkDirectory(at: Self.trimmingSlashes(source), as: "")
            } else {
                let name = String(Self.trimmingSlashes(source).split(separator: "/").last ?? "")
                guard !name.isEmpty, name != ".", name != ".." else {
                    throw TrellisError(.invalidArgument, "\(source): name the directory (or give it with a trailing slash to stage its contents)")
                }
                try add(Self.trimmingSlashes(source), info: info, as: name)
            }
        }
    }

    private mutating func add(_ local: String, info: stat, as path: String) throws {
        guard seenPaths.insert(path).inserted else {
            throw TrellisError(.invalidArgument, "two sources both arrive as \(path); stage them into different directories")
        }
        var entry = StageEntry(
            path: path, kind: .file, mode: UInt32(info.st_mode) & 0o7777, uid: info.st_uid, gid: info.st_gid,
            modified: FileTime(seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int32(info.st_mtim.tv_nsec)))
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            entry.kind = .directory
            append(entry, origin: local)
            try walkDirectory(at: local, as: path)
        case S_IFREG:
            let identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            if info.st_nlink > 1, let first = firstNameOfInode[identity] {
                entry.kind = .hardLink
                entry.target = first
            } else {
                if info.st_nlink > 1 { firstNameOfInode[identity] = path }
                entry.size = Int64(info.st_size)
            }
            append(entry, origin: local)
        case S_IFLNK:
            entry.kind = .symlink
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(local, &buffer, buffer.count - 1)
            guard length >= 0 else { throw Self.failure("cannot read the link", local) }
            entry.target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            append(entry, origin: local)
        default:
            skipped.append(local)
        }
    }

    private mutating func append(_ entry: StageEntry, origin: String) {
        manifest.entries.append(entry)
        origins.append(origin)
    }

    private mutating func walkDirectory(at local: String, as path: String) throws {
        guard let directory = opendir(local.isEmpty ? "/" : local) else { throw Self.failure("cannot list the directory", local) }
        var names: [String] = []
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
        for name in names.sorted() {
            let child = local + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0 else { throw Self.failure("cannot read", child) }
            try add(child, info: info, as: path.isEmpty ? name : path + "/" + name)
        }
    }

    private static func trimmingSlashes(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    private static func failure(_ what: String, _ path: String) -> TrellisError {
        TrellisError(.systemCall, "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

private struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64
}
