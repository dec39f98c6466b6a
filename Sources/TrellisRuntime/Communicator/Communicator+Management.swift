import NIOCore
import TrellisCore

/// Making new communicators. Context ids come from the allocating process's
/// own counter, so they are never reused (see `ContextID`).
extension Communicator {
    /// A communicator with the same group and a new context.
    public func duplicate(deadline: Deadline? = nil) throws -> Communicator {
        let context = try agreeOnContext(serialCount: 1, deadline: deadline)
        return Communicator(engine: engine, context: context, group: group, rank: rank)
    }

    /// Splits by `color`: ranks with the same color form a new communicator,
    /// ordered by `key` then old rank. A nil color (MPI_UNDEFINED) gets nil.
    public func split(color: Int?, key: Int = 0, deadline: Deadline? = nil) throws -> Communicator? {
        // Each rank contributes (has color, color, key); rank 0 also reserves
        // one context serial per possible color.
        let base = rank == 0 ? engine.allocateContextSerials(count: size) : 0
        let mine = ByteBuffer(wireValues: [Int64(color == nil ? 0 : 1), Int64(color ?? 0), Int64(key), Int64(bitPattern: base)])
        let all = try allgather(mine, deadline: deadline).map { try $0.wireValues(of: Int64.self) }
        guard let color else { return nil }
        let owner = process(ofRank: 0).rawValue
        let firstSerial = UInt64(bitPattern: all[0][3])
        let colors = Set(all.filter { $0[0] == 1 }.map { $0[1] }).sorted()
        let colorIndex = colors.firstIndex(of: Int64(color))!
        let members = all.indices
            .filter { all[$0][0] == 1 && all[$0][1] == Int64(color) }
            .sorted { (all[$0][2], $0) < (all[$1][2], $1) }
        let newGroup = Group(members: members.map { process(ofRank: $0) })
        return Communicator(
            engine: engine, context: ContextID(owner: owner, serial: firstSerial + UInt64(colorIndex)),
            group: newGroup, rank: members.firstIndex(of: rank)!)
    }

    /// A communicator of `subgroup`, which every member of this communicator
    /// passes alike; those outside it get nil.
    public func create(group subgroup: Group, deadline: Deadline? = nil) throws -> Communicator? {
        for member in subgroup.members where group.rank(of: member) == nil {
            throw TrellisError(.invalidArgument, "process \(member) of the new group is not in \(self)")
        }
        let context = try agreeOnContext(serialCount: 1, deadline: deadline)
        guard let newRank = subgroup.rank(of: process(ofRank: rank)) else { return nil }
        return Communicator(engine: engine, context: context, group: subgroup, rank: newRank)
    }

    /// Rank 0 allocates a context and broadcasts it.
    private func agreeOnContext(serialCount: Int, deadline: Deadline?) throws -> ContextID {
        var proposal: ByteBuffer?
        if rank == 0 {
            let serial = engine.allocateContextSerials(count: serialCount)
            proposal = ByteBuffer(wireValues: [engine.processID.rawValue, serial])
        }
        let agreed = try broadcast(proposal, root: 0, deadline: deadline).wireValues(of: UInt64.self)
        guard agreed.count == 2 else {
            throw TrellisError(.protocolViolation, "malformed context agreement of \(agreed.count) values")
        }
        return ContextID(owner: agreed[0], serial: agreed[1])
    }
}
