/// Where a manifest entry's bytes (or link text) come from at rank 0.
enum EntryOrigin {
    case local(path: String)
    /// An object of a Trellis file system, read by its attributes.
    case fileSystem(FileSystemSource.Object)
    /// The next file of archive `archive` (archives are read in order, once).
    case archive(archive: Int)
    /// Nothing to read (directories, links whose text is in the entry).
    case none
}

/// Builds a stage's manifest from every source, whatever its kind: refuses
/// two sources that arrive under the same name, and sends a file with
/// several names once (the others become hard links to the first).
struct ManifestBuilder {
    private(set) var entries: [StageEntry] = []
    private(set) var origins: [EntryOrigin] = []
    private(set) var skipped: [String] = []
    private var firstNameOf: [AnyHashable: String] = [:]
    private var indexOfPath: [String: Int] = [:]

    func contains(_ path: String) -> Bool { indexOfPath[path] != nil }

    /// Gives a directory added before (as the parent of an earlier archive
    /// member) the metadata its own member brings later.
    mutating func update(directory entry: StageEntry) {
        guard let index = indexOfPath[entry.path], entries[index].kind == .directory else { return }
        entries[index] = entry
    }

    /// Adds `entry`; a file whose `identity` was seen before becomes a hard link to its first name.
    mutating func add(_ entry: StageEntry, origin: EntryOrigin, identity: AnyHashable? = nil) throws {
        guard indexOfPath[entry.path] == nil else {
            throw StageSourceError("two sources both arrive as \(entry.path); stage them into different directories")
        }
        indexOfPath[entry.path] = entries.count
        var entry = entry
        var origin = origin
        if entry.kind == .file, let identity {
            if let first = firstNameOf[identity] {
                entry.kind = .hardLink
                entry.target = first
                entry.size = 0
                origin = .none
            } else {
                firstNameOf[identity] = entry.path
            }
        }
        entries.append(entry)
        origins.append(origin)
    }

    mutating func skip(_ name: String) {
        skipped.append(name)
    }
}

/// Why a source cannot be staged, naming it.
struct StageSourceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
