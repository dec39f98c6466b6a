import Glibc
import TrellisFSProtocol

/// A source on rank 0's own disk. As cp -r and rsync name them: a directory
/// `src` arrives as `DIR/src`, `src/` (with the slash) puts its contents
/// straight into DIR; a file arrives under its own name. Symbolic links are
/// staged as links; sockets, devices and pipes are skipped (rsync without -D).
enum LocalSource {
    static func add(_ source: String, to builder: inout ManifestBuilder) throws {
        var info = stat()
        guard lstat(source, &info) == 0 else { throw failure("cannot read the source", source) }
        let trimmed = trimmingSlashes(source)
        if source.hasSuffix("/"), (info.st_mode & S_IFMT) == S_IFDIR {
            try walkDirectory(at: trimmed, as: "", into: &builder)
            return
        }
        let name = String(trimmed.split(separator: "/").last ?? "")
        guard !name.isEmpty, name != ".", name != ".." else {
            throw StageSourceError("\(source): name the directory (or give it with a trailing slash to stage its contents)")
        }
        try add(trimmed, info: info, as: name, into: &builder)
    }

    private static func add(_ local: String, info: stat, as path: String, into builder: inout ManifestBuilder) throws {
        var entry = StageEntry(
            path: path, kind: .file, mode: UInt32(info.st_mode) & 0o7777, uid: info.st_uid, gid: info.st_gid,
            modified: Timestamp(info.st_mtim))
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            entry.kind = .directory
            try builder.add(entry, origin: .none)
            try walkDirectory(at: local, as: path, into: &builder)
        case S_IFREG:
            entry.size = Int64(info.st_size)
            let identity = info.st_nlink > 1 ? FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : nil
            try builder.add(entry, origin: .local(path: local), identity: identity)
        case S_IFLNK:
            entry.kind = .symlink
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(local, &buffer, buffer.count - 1)
            guard length >= 0 else { throw failure("cannot read the link", local) }
            entry.target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            try builder.add(entry, origin: .none)
        default:
            builder.skip(local)
        }
    }

    private static func walkDirectory(at local: String, as path: String, into builder: inout ManifestBuilder) throws {
        guard let directory = opendir(local.isEmpty ? "/" : local) else { throw failure("cannot list the directory", local) }
        var names: [String] = []
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        names.sort()
        // Each child looked up by name in the open directory (the kernel walks
        // the directory's path once, not once per child), then the directory
        // closed before any child directory is walked: one open at a time.
        var children: [(name: String, info: stat)] = []
        children.reserveCapacity(names.count)
        for name in names {
            var info = stat()
            guard fstatat(dirfd(directory), name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                closedir(directory)
                throw failure("cannot read", local + "/" + name)
            }
            children.append((name, info))
        }
        closedir(directory)
        for (name, info) in children {
            try add(local + "/" + name, info: info, as: path.isEmpty ? name : path + "/" + name, into: &builder)
        }
    }

    static func trimmingSlashes(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }

    private static func failure(_ what: String, _ path: String) -> StageSourceError {
        StageSourceError("\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

private struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64
}
