/// An ordered set of processes; a process's rank in the group is its index.
/// Group arithmetic follows MPI (incl, excl, union, intersection, translate).
public struct Group: Hashable, Sendable, CustomStringConvertible {
    public let members: [ProcessID]

    public init(members: [ProcessID]) { self.members = members }

    public var size: Int { members.count }

    public func rank(of process: ProcessID) -> Int? { members.firstIndex(of: process) }

    /// The group of the listed ranks, in that order.
    public func including(ranks: [Int]) throws -> Group {
        var seen = Set<Int>()
        for rank in ranks {
            guard members.indices.contains(rank) else {
                throw TrellisError(.invalidRank, "rank \(rank) is not in a group of size \(size)")
            }
            guard seen.insert(rank).inserted else {
                throw TrellisError(.invalidRank, "rank \(rank) is listed twice")
            }
        }
        return Group(members: ranks.map { members[$0] })
    }

    /// The group without the listed ranks, order kept.
    public func excluding(ranks: [Int]) throws -> Group {
        for rank in ranks where !members.indices.contains(rank) {
            throw TrellisError(.invalidRank, "rank \(rank) is not in a group of size \(size)")
        }
        let dropped = Set(ranks)
        return Group(members: members.indices.filter { !dropped.contains($0) }.map { members[$0] })
    }

    public func union(_ other: Group) -> Group {
        let mine = Set(members)
        return Group(members: members + other.members.filter { !mine.contains($0) })
    }

    public func intersection(_ other: Group) -> Group {
        let theirs = Set(other.members)
        return Group(members: members.filter { theirs.contains($0) })
    }

    /// For each rank in this group, its rank in `other`, or nil when absent.
    public func translate(ranks: [Int], to other: Group) -> [Int?] {
        ranks.map { members.indices.contains($0) ? other.rank(of: members[$0]) : nil }
    }

    public var description: String { "Group(\(members.map(\.description).joined(separator: ",")))" }
}
