/// What a stage is asked to do, as the command line gives it; the same on
/// every rank.
public struct StageRequest: ClusterToolRequest, Equatable {
    /// What a stage reports.
    public typealias Report = StageReport

    /// Files, directories (`dir` arrives as `DESTINATION/dir`, `dir/` puts its
    /// contents straight in), `fs:/...` paths in a Trellis file system, and
    /// `tar:ARCHIVE` for an archive's contents.
    public var sources: [String]
    /// The folder on every host; `%h` stands for the host's name.
    public var destination: String
    /// Keep modes, modification times and (as root) owners exactly; otherwise
    /// modes less the umask and the time of writing, as cp does.
    public var preserve = false
    /// Read every file back on every host and compare its SHA-256 with the source's.
    public var verify = false
    /// On a failure, keep what the hosts received whole instead of removing it everywhere.
    public var keepPartial = false
    /// Compress chunks with zstd on the wire, each only when that saves at least an eighth.
    public var compress = false
    /// Bytes per broadcast; memory stays near `window` times this on every host.
    public var chunkBytes = 4 << 20
    /// Chunks in flight at once, so that every level of the tree is busy.
    public var window = 4
    /// Whether rank 0's host is a destination too (false when the command
    /// runs on a host that only holds the sources).
    public var sourceIsDestination = true
    /// The Trellis file system that `fs:/...` sources name.
    public var fileSystem = "trellis"

    /// A stage of `sources` to `destination` with every flag off and the default chunks and window.
    public init(sources: [String], destination: String) {
        self.sources = sources
        self.destination = destination
    }
}
