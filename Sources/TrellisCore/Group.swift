/// An ordered set of processes; a process's rank in the group is its index.
/// Group arithmetic follows MPI (incl, excl, union, intersection, translate).
public struct Group: Hashable, Sendable, CustomStringConvertible {
    /// The processes in rank order: `members[r]` has rank `r`.
    public let members: [ProcessID]

    /// A group of these processes, ranked in the order given.
    public init(members: [ProcessID]) { self.members = members }

    /// The number of processes in the group.
    public var size: Int { members.count }

    /// The rank of `process` in this group, or `nil` when it is not a member
    /// (`MPI_Group_translate_ranks` for one process).
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

    /// This group's members followed by those of `other` that are not in it
    /// (`MPI_Group_union`).
    public func union(_ other: Group) -> Group {
        let mine = Set(members)
        return Group(members: members + other.members.filter { !mine.contains($0) })
    }

    /// The members of this group that are also in `other`, in this group's order
    /// (`MPI_Group_intersection`).
    public func intersection(_ other: Group) -> Group {
        let theirs = Set(other.members)
        return Group(members: members.filter { theirs.contains($0) })
    }

    /// For each rank in this group, its rank in `other`, or nil when absent.
    public func translate(ranks: [Int], to other: Group) -> [Int?] {
        ranks.map { members.indices.contains($0) ? other.rank(of: members[$0]) : nil }
    }

    /// The members' ids in hexadecimal, such as `"Group(3fa1c2,9c0247)"`.
    public var description: String { "Group(\(members.map(\.description).joined(separator: ",")))" }
}
