/// What a stage is asked to do, as the command line gives it; the same on
/// every rank.
public struct StageRequest: Sendable, Equatable, Codable {
    public var sources: [String]
    /// The folder on every host; `%h` stands for the host's name.
    public var destination: String
    public var preserve = false
    public var verify = false
    public var keepPartial = false
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

    public init(sources: [String], destination: String) {
        self.sources = sources
        self.destination = destination
    }

    /// The destination on the host named `host`.
    public func destination(on host: String) -> String {
        destination.replacingOccurrences(of: "%h", with: host)
    }
}
