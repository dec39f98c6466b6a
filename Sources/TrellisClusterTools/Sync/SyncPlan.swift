import Glibc
import Crypto
import TrellisFSProtocol

/// What one host must do to make its destination identical to the source's
/// manifest, found by comparing each entry with what is there (mpisync's
/// per-host inventory): which files' bytes it needs, what it can fix in
/// place, and what the source lacks.
public struct SyncPlan {
    /// One change, as --dry-run prints it.
    public struct Change: Codable, Sendable, Equatable, Hashable {
        /// What a change does to an entry.
        public enum Kind: String, Codable, Sendable {
            /// New: not there yet.
            case create
            /// There, with other contents (size, time or checksum).
            case update
            /// There with the same contents; mode, owner, time or attributes differ.
            case metadata
            /// Not in the source (removed with --delete).
            case delete
        }

        /// What the change does.
        public var kind: Kind
        /// The entry's path under the destination; `.` for the destination folder itself.
        public var path: String
    }

    /// Files whose bytes this host needs, by manifest entry.
    private(set) var needsData: Set<Int> = []
    /// Entries to put in place without data: links, and files or links whose metadata alone differs.
    private(set) var fixes: Set<Int> = []
    /// What is in the way of an entry (a directory where a file goes, ...), to remove first.
    private(set) var obstacles: [String] = []
    /// Paths under the destination the source lacks, outermost first.
    private(set) var extras: [String] = []
    /// Temporary files an interrupted stage or sync left (removed, never counted as changes).
    private(set) var leftovers: [String] = []
    private(set) var changes: [Change] = []
    private(set) var unchanged = 0

    init(manifest: StageManifest, destination: String, checksum: Bool, extendedAttributes: Bool, delete: Bool) {
        let isRoot = geteuid() == 0
        // Each entry is looked up by name in its directory, held open while
        // its entries go by (they come together in the manifest): the kernel
        // walks the destination's path once per directory, not once per file.
        var directory = ParentDirectory(destination: destination)
        defer { directory.close() }
        for (index, entry) in manifest.entries.enumerated() {
            let path = destination + "/" + entry.path
            var info = stat()
            guard directory.status(of: entry.path, into: &info) else {
                note(index, .create, entry, data: entry.kind == .file)
                continue
            }
            let type = info.st_mode & S_IFMT
            let wantedType: mode_t = entry.kind == .directory ? S_IFDIR : entry.kind == .symlink ? S_IFLNK : S_IFREG
            guard type == wantedType else {
                obstacles.append(path)
                note(index, .create, entry, data: entry.kind == .file)
                continue
            }
            let sameTime = Timestamp(info.st_mtim) == entry.modified
            let sameMeta = UInt32(info.st_mode) & 0o7777 == entry.mode && (!isRoot || (info.st_uid == entry.uid && info.st_gid == entry.gid))
                && (entry.kind == .symlink || !extendedAttributes || ExtendedAttributes.read(.path(path)) == entry.extendedAttributes)
            switch entry.kind {
            case .file:
                let sameData = Int64(info.st_size) == entry.size && (checksum ? Self.digest(of: path) == entry.digest : sameTime)
                if !sameData {
                    note(index, .update, entry, data: true)
                } else if !sameMeta || !sameTime {
                    note(index, .metadata, entry, data: false)
                } else {
                    unchanged += 1
                }
            case .symlink:
                if Self.linkText(path) != entry.target {
                    note(index, .update, entry, data: false)
                } else if !sameTime || (isRoot && (info.st_uid != entry.uid || info.st_gid != entry.gid)) {
                    note(index, .metadata, entry, data: false)
                } else {
                    unchanged += 1
                }
            case .hardLink:
                var first = stat()
                if lstat(destination + "/" + entry.target, &first) == 0, first.st_ino == info.st_ino, first.st_dev == info.st_dev,
                    manifest.entries.firstIndex(where: { $0.path == entry.target }).map({ !needsData.contains($0) }) ?? false
                {
                    unchanged += 1
                } else {
                    note(index, .update, entry, data: false)
                }
            case .directory:
                // Directories get their metadata at the end, after what changes inside them.
                if sameMeta && sameTime { unchanged += 1 } else { changes.append(Change(kind: .metadata, path: entry.path)) }
            }
        }
        findExtras(in: destination, relative: "", manifest: Set(manifest.entries.map(\.path)), delete: delete)
        if let root = manifest.root {
            var info = stat()
            let same = stat(destination, &info) == 0 && UInt32(info.st_mode) & 0o7777 == root.mode
                && Timestamp(info.st_mtim) == root.modified
                && (!isRoot || (info.st_uid == root.uid && info.st_gid == root.gid))
                && (!extendedAttributes || ExtendedAttributes.read(.path(destination)) == root.extendedAttributes)
            if !same { changes.append(Change(kind: .metadata, path: ".")) }
        }
    }

    private mutating func note(_ index: Int, _ kind: Change.Kind, _ entry: StageEntry, data: Bool) {
        changes.append(Change(kind: kind, path: entry.path))
        if data { needsData.insert(index) } else if entry.kind != .directory { fixes.insert(index) }
    }

    private mutating func findExtras(in destination: String, relative: String, manifest: Set<String>, delete: Bool) {
        let directory = relative.isEmpty ? destination : destination + "/" + relative
        guard let stream = opendir(directory) else { return }
        var names: [(String, UInt8)] = []
        while let item = readdir(stream) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append((name, item.pointee.d_type)) }
        }
        closedir(stream)
        for (name, type) in names.sorted(by: { $0.0 < $1.0 }) {
            let path = relative.isEmpty ? name : relative + "/" + name
            if name.hasPrefix(".trellis-stage-"), !manifest.contains(path) {
                leftovers.append(destination + "/" + path)
                continue
            }
            if !manifest.contains(path) {
                if delete {
                    extras.append(destination + "/" + path)
                    changes.append(Change(kind: .delete, path: path))
                }
                continue
            }
            // The directory entry's own type spares a stat, where the file system gives it.
            var info = stat()
            if type == UInt8(DT_DIR) || (type == UInt8(DT_UNKNOWN) && lstat(destination + "/" + path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR) {
                findExtras(in: destination, relative: path, manifest: manifest, delete: delete)
            }
        }
    }

    static func digest(of path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return Array(hasher.finalize()) }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    static func linkText(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The destination directory an entry's name is looked up in, kept open for
/// the entries after it in the same directory.
private struct ParentDirectory {
    let destination: String
    private var path: Substring?
    private var fd: Int32 = -1

    init(destination: String) { self.destination = destination }

    /// lstat of `relative` (under the destination); false when it is not there.
    mutating func status(of relative: String, into info: inout stat) -> Bool {
        let slash = relative.lastIndex(of: "/")
        let parent = slash.map { relative[..<$0] } ?? ""
        if parent != path {
            close()
            path = parent
            fd = open(parent.isEmpty ? destination : destination + "/" + parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        guard fd >= 0 else { return false }
        let name = slash.map { String(relative[relative.index(after: $0)...]) } ?? relative
        return fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        path = nil
    }
}
