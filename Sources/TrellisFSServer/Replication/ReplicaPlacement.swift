import TrellisFSDistribution
import TrellisFSProtocol

/// Which servers hold each replica group. A handle's top bits name its
/// group; group `g` starts with server `g` as its primary, so a file system
/// with one replica is exactly one group per server. The other members are
/// chosen so that no two members of a group share a host while there are
/// hosts enough (a host's loss then costs each group at most one member),
/// and so that every server holds about as many secondaries as any other
/// (a failed server's groups fail over to different servers, as 3FS's chain
/// tables and Ceph's placement spread them). The order of the members is the
/// order of failover.
///
/// Groups come in sets, one per copy count: the first set (groups `0 ..< n`
/// over `n` servers) keeps every object with the file system's own
/// `replicas`; each count of `dataReplicas` adds a set of `n` groups that
/// keep only the bytes (datafiles) of files whose directory chose that
/// count, as a CephFS directory's layout names a data pool of another size
/// while its metadata stays in the metadata pool. Group `k · n + s` of set
/// `k` starts with server `s` as its primary.
public struct ReplicaPlacement: Sendable, Equatable {
    /// Each group's members, its primary first, set after set.
    public let members: [[Int]]
    /// The servers the groups are placed over.
    public let serverCount: Int
    /// The copy count of each set: the file system's own first.
    public let counts: [Int]

    /// The placement of `replicas` copies over servers on `hosts` (one entry
    /// per server, its host), and of a set of data groups for each count of
    /// `dataReplicas`; `invalidArgument` when there are fewer servers than
    /// a count, or a count is outside 1 ... 3 or given twice.
    public init(hosts: [String], replicas: Int, dataReplicas: [Int] = []) throws {
        let counts = [replicas] + dataReplicas
        for count in counts {
            guard (1 ... Distribution.maximumCopies).contains(count) else {
                throw FSError(.invalidArgument, "replicas = \(count) is outside 1 ... \(Distribution.maximumCopies)")
            }
            guard count <= hosts.count else {
                throw FSError(.invalidArgument, "replicas = \(count) needs at least \(count) servers, and the file system has \(hosts.count)")
            }
        }
        guard Set(counts).count == counts.count else {
            throw FSError(.invalidArgument, "data_replicas = \(dataReplicas) repeats a count or names replicas = \(replicas), which every file system keeps")
        }
        serverCount = hosts.count
        self.counts = counts
        members = counts.flatMap { Self.groups(hosts: hosts, replicas: $0) }
    }

    /// One set of groups: group `s` led by server `s`, with `replicas` members.
    private static func groups(hosts: [String], replicas: Int) -> [[Int]] {
        let count = hosts.count
        var load = [Int](repeating: 0, count: count)
        return (0 ..< count).map { group in
            var chosen = [group]
            while chosen.count < replicas {
                let free = (1 ..< count).map { (group + $0) % count }.filter { !chosen.contains($0) }
                let usedHosts = Set(chosen.map { hosts[$0] })
                let apart = free.filter { !usedHosts.contains(hosts[$0]) }
                // The least loaded, nearest after the primary; on another host when one is left.
                let pick = (apart.isEmpty ? free : apart).min { load[$0] < load[$1] }!
                load[pick] += 1
                chosen.append(pick)
            }
            return chosen
        }
    }

    /// How many copies of each object of the file system's own groups there are.
    public var replicas: Int { counts[0] }

    /// Whether any group has more than one copy (so servers watch and replicate).
    public var isReplicated: Bool { counts.contains { $0 > 1 } }

    /// The copies group `group` keeps.
    public func copies(ofGroup group: Int) -> Int { members[group].count }

    /// Whether `group` belongs to the file system's own set (it keeps
    /// metadata; the other sets keep only datafiles).
    public func isOwnSet(_ group: Int) -> Bool { group < serverCount }

    /// The groups server `server` is a member of (its own first), and its place in each.
    public func groups(of server: Int) -> [(group: Int, place: Int)] {
        members.indices.compactMap { group in members[group].firstIndex(of: server).map { (group, $0) } }
            .sorted { ($0.group == server ? 0 : 1, $0.group) < ($1.group == server ? 0 : 1, $1.group) }
    }
}
