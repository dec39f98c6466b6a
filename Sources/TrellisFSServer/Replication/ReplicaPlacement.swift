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
public struct ReplicaPlacement: Sendable, Equatable {
    /// Each group's members, its primary first.
    public let members: [[Int]]

    /// The placement of `replicas` copies over servers on `hosts` (one entry
    /// per server, its host); `invalidArgument` when there are fewer servers
    /// than replicas.
    public init(hosts: [String], replicas: Int) throws {
        guard (1 ... 3).contains(replicas) else {
            throw FSError(.invalidArgument, "replicas = \(replicas) is outside 1 ... 3")
        }
        guard replicas <= hosts.count else {
            throw FSError(.invalidArgument, "replicas = \(replicas) needs at least \(replicas) servers, and the file system has \(hosts.count)")
        }
        let count = hosts.count
        var load = [Int](repeating: 0, count: count)
        members = (0 ..< count).map { group in
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

    /// How many copies of each object there are.
    public var replicas: Int { members.first?.count ?? 1 }

    /// The groups server `server` is a member of (its own first), and its place in each.
    public func groups(of server: Int) -> [(group: Int, place: Int)] {
        members.indices.compactMap { group in members[group].firstIndex(of: server).map { (group, $0) } }
            .sorted { ($0.group == server ? 0 : 1, $0.group) < ($1.group == server ? 0 : 1, $1.group) }
    }
}
