import Glibc
import CArchive
import TrellisFSProtocol

/// The contents of an archive, `tar:FILE`, extracted under the destination
/// on every host as `tar -xf FILE -C DIR` would (tar of any kind libarchive
/// reads: plain, gzip, bzip2, xz or zstd; also cpio and zip). Rank 0 reads
/// the archive twice: once for the manifest, once for the bytes, in order.
enum ArchiveSource {
    static let prefix = "tar:"

    static func add(_ source: String, number: Int, to builder: inout ManifestBuilder) throws {
        let path = String(source.dropFirst(prefix.count))
        let reader = try ArchiveReader(path: path)
        while let entry = try reader.nextEntry() {
            guard let name = normalized(entry.path) else {
                throw StageSourceError("\(path): the member \(entry.path) would land outside the destination")
            }
            if name.isEmpty { continue }
            // Members may come before their directories, or without them, as tar allows.
            var parent = ""
            for part in name.split(separator: "/").dropLast() {
                parent += (parent.isEmpty ? "" : "/") + part
                if !builder.contains(parent) {
                    try builder.add(StageEntry(path: parent, kind: .directory, mode: 0o755, modified: entry.modified), origin: .none)
                }
            }
            if entry.type == .directory, entry.hardLink == nil, builder.contains(name) {
                builder.update(directory: StageEntry(path: name, kind: .directory, mode: entry.mode, uid: entry.uid, gid: entry.gid, modified: entry.modified))
                continue
            }
            var staged = StageEntry(path: name, kind: .file, mode: entry.mode, uid: entry.uid, gid: entry.gid, modified: entry.modified, size: entry.size)
            if let target = entry.hardLink {
                guard let first = normalized(target), !first.isEmpty else { throw StageSourceError("\(path): the member \(entry.path) links outside the archive") }
                staged.kind = .hardLink
                staged.target = first
                staged.size = 0
                try builder.add(staged, origin: .none)
                continue
            }
            switch entry.type {
            case .directory:
                staged.kind = .directory
                staged.size = 0
                try builder.add(staged, origin: .none)
            case .symlink:
                staged.kind = .symlink
                staged.size = 0
                staged.target = entry.symlink ?? ""
                try builder.add(staged, origin: .none)
            case .file:
                try builder.add(staged, origin: .archive(archive: number))
            case .other:
                builder.skip("\(source)/\(entry.path)")
            }
        }
    }

    /// A member's name relative to the destination: no leading `/` or `./`,
    /// no trailing `/`; nil for one that climbs out with `..`.
    static func normalized(_ name: String) -> String? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !parts.contains("..") else { return nil }
        return parts.joined(separator: "/")
    }
}

/// libarchive's reader over one archive, member by member.
final class ArchiveReader {
    enum MemberType { case file, directory, symlink, other }

    struct Member {
        var path: String
        var type: MemberType
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var modified: Timestamp
        var size: Int64
        var hardLink: String?
        var symlink: String?
    }

    private let archive: OpaquePointer
    let path: String

    init(path: String) throws {
        self.path = path
        guard let archive = archive_read_new() else { throw StageSourceError("\(path): libarchive could not start a reader") }
        self.archive = archive
        archive_read_support_filter_all(archive)
        archive_read_support_format_all(archive)
        // Thrown from here, the reader is whole, so deinit frees the archive.
        guard archive_read_open_filename(archive, path, 1 << 16) == ARCHIVE_OK else {
            throw StageSourceError("cannot read the archive \(path): \(lastError)")
        }
    }

    deinit {
        archive_read_free(archive)
    }

    private var lastError: String { archive_error_string(archive).map { String(cString: $0) } ?? "unknown error" }

    /// The next member's header, nil at the end.
    func nextEntry() throws -> Member? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else { throw StageSourceError("cannot read the archive \(path): \(lastError)") }
        let type: MemberType
        // libarchive's AE_IF* are the stat(2) values, which Swift imports (its own macros it cannot).
        switch archive_entry_filetype(entry) {
        case S_IFREG: type = .file
        case S_IFDIR: type = .directory
        case S_IFLNK: type = .symlink
        default: type = .other
        }
        return Member(
            path: archive_entry_pathname(entry).map { String(cString: $0) } ?? "",
            type: type, mode: UInt32(archive_entry_perm(entry)) & 0o7777,
            uid: UInt32(truncatingIfNeeded: archive_entry_uid(entry)), gid: UInt32(truncatingIfNeeded: archive_entry_gid(entry)),
            modified: Timestamp(seconds: Int64(archive_entry_mtime(entry)), nanoseconds: UInt32(clamping: archive_entry_mtime_nsec(entry))),
            size: archive_entry_size_is_set(entry) != 0 ? Int64(archive_entry_size(entry)) : 0,
            hardLink: archive_entry_hardlink(entry).map { String(cString: $0) },
            symlink: archive_entry_symlink(entry).map { String(cString: $0) })
    }

    /// Moves to the next member with data of its own (a file that is not a hard link).
    func nextFile() throws -> Member? {
        while let member = try nextEntry() {
            if member.type == .file, member.hardLink == nil, let name = ArchiveSource.normalized(member.path), !name.isEmpty { return member }
        }
        return nil
    }

    /// Reads the current member's data into `buffer`; 0 at its end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = archive_read_data(archive, buffer.baseAddress, buffer.count)
        guard count >= 0 else { throw StageSourceError("cannot read the archive \(path): \(lastError)") }
        return count
    }
}
