import NIOCore
import TrellisCore
import TrellisRuntime

/// How every cluster tool's ranks begin: each learns every rank's host
/// (the first rank on a host does that host's file work), and rank 0 builds
/// the manifest of the sources and broadcasts it, or the reason it could not.
struct ToolOpening {
    let hosts: [String]
    /// Whether this rank writes on its host.
    let writes: Bool
    /// The sources, at rank 0.
    let tree: SourceTree?
    let manifest: StageManifest

    init(world: Communicator, hostName: String, sourceIsDestination: Bool, build: () throws -> SourceTree) throws {
        hosts = try world.allgather(ByteBuffer(string: hostName)).map { String(buffer: $0) }
        writes = (world.rank != 0 || sourceIsDestination) && hosts.firstIndex(of: hostName) == world.rank
        var tree: SourceTree?
        if world.rank == 0 {
            var manifest: StageManifest
            do {
                tree = try build()
                manifest = tree!.manifest
            } catch {
                manifest = StageManifest(entries: [], tag: "", error: "\(hostName): \(StageRank.message(error))")
            }
            _ = try world.broadcast(manifest.encoded(), root: 0)
            self.manifest = manifest
        } else {
            manifest = try StageManifest(decoding: world.broadcast(nil, root: 0))
        }
        self.tree = tree
    }

    /// After a collective failed: the survivors' communicator, and the ranks
    /// (of `world`) that are gone. Every survivor gets the same answer.
    static func survivors(of world: Communicator, seconds: Double) throws -> (communicator: Communicator, lost: [Int]) {
        world.revoke()
        let communicator = try world.shrink(deadline: .after(seconds: seconds))
        let survivors = try communicator.allgather([Int32(world.rank)]).map { Int($0[0]) }
        return (communicator, (0..<world.size).filter { !survivors.contains($0) })
    }
}
