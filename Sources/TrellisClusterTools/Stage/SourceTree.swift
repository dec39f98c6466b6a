import TrellisFSClient

/// The sources of a stage at rank 0, of any kind: local paths, paths in a
/// Trellis file system (`fs:/...`) and archives (`tar:FILE`). Gives the
/// manifest every host gets, and where each file's bytes are read from.
public final class SourceTree {
    /// The sources' manifest, which rank 0 broadcasts to every host.
    /// (A sync adds checksums and extended attributes to it.)
    public internal(set) var manifest: StageManifest
    /// Sources not staged (sockets, devices, pipes).
    public let skipped: [String]
    let origins: [EntryOrigin]
    /// The archives of `tar:` sources, by number.
    let archives: [String]
    /// The file system of `fs:` sources, connected only when one is named.
    let fileSystem: FileSystemClient?

    /// Walks the sources and builds their manifest, tagged `tag`; connects to
    /// the Trellis file system `fileSystemName` only when an `fs:` source names
    /// it. Throws, naming the source, when one cannot be read (or its file
    /// system reached) or two arrive under the same path.
    public init(sources: [String], tag: String, fileSystemName: String = "trellis") throws {
        var builder = ManifestBuilder()
        var archives: [String] = []
        var fileSystem: FileSystemClient?
        do {
            for source in sources {
                guard !source.isEmpty else { throw StageSourceError("an empty source path") }
                if source.hasPrefix(FileSystemSource.prefix) {
                    if fileSystem == nil {
                        do {
                            fileSystem = try FileSystemClient.connect(name: fileSystemName)
                        } catch {
                            throw StageSourceError("cannot reach the file system '\(fileSystemName)' for \(source): \(error)")
                        }
                    }
                    try FileSystemSource.add(source, client: fileSystem!, to: &builder)
                } else if source.hasPrefix(ArchiveSource.prefix) {
                    try ArchiveSource.add(source, number: archives.count, to: &builder)
                    archives.append(String(source.dropFirst(ArchiveSource.prefix.count)))
                } else {
                    try LocalSource.add(source, to: &builder)
                }
            }
        } catch {
            fileSystem?.close()
            throw error
        }
        manifest = StageManifest(entries: builder.entries, tag: tag)
        skipped = builder.skipped
        origins = builder.origins
        self.archives = archives
        self.fileSystem = fileSystem
    }

    deinit {
        fileSystem?.close()
    }
}
