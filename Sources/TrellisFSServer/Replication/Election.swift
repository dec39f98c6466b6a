import Dispatch
import Synchronization
import TrellisFSProtocol

/// How a vote on a replica group's members ended.
enum Election: Sendable {
    /// More than half of the servers agreed: the group is at `epoch` with the members asked for.
    case won(epoch: UInt64, votes: Int)
    /// Too few agreed (or the vote could not start); the reason says why.
    case lost(String)
    /// A server knows a newer epoch of the group than the candidate did.
    case superseded(GroupView)
}

extension ReplicationContext {
    /// Asks every server to let `group` go on, from the epoch after the
    /// newest this server knows or promised, with `members`, without
    /// `dropped` (none: `members` adds copies its primary resynced; with
    /// `stepsDown`, the one dropped is this server's copy), and
    /// records the new epoch when more than half agree. The caller then
    /// `announce`s it, so later votes and probes start from it.
    func elect(_ group: Int, members: [Int], dropping dropped: [Int], stepsDown: Bool = false) -> Election {
        guard let entry = epochs.entry(group) else { return .lost("there is no replica group \(group)") }
        let (epoch, overflow) = max(entry.epoch, entry.promised).addingReportingOverflow(1)
        guard !overflow else { return .lost("its epoch cannot rise any further") }
        do {
            guard try epochs.promise(group, epoch: epoch) else { return .lost("this server promised epoch \(epoch) already") }
        } catch {
            return .lost("could not promise epoch \(epoch): \(error)")
        }
        let vote = VoteForMembers(group: UInt32(group), epoch: epoch, members: members.map { UInt32($0) }, dropped: dropped.map { UInt32($0) }, stepsDown: stepsDown)
        // Every server at once (a member to drop would refuse to vote itself out, so it is not asked).
        let voters = (0..<serverCount).filter { $0 != server && !dropped.contains($0) }
        let answers = Mutex<[GroupView?]>(Array(repeating: nil, count: voters.count))
        DispatchQueue.concurrentPerform(iterations: voters.count) { position in
            // A voter probes the members to drop itself, so it gets longer than one probe.
            let view = askWatch(vote, of: voters[position], seconds: 3 * probeSeconds)
            answers.withLock { $0[position] = view }
        }
        var votes = 1
        for view in answers.withLock({ $0 }).compactMap({ $0 }) {
            if view.granted {
                votes += 1
            } else if view.epoch > entry.epoch {
                return .superseded(view)
            }
        }
        guard votes * 2 > serverCount else {
            return .lost("\(votes) of \(serverCount) servers agreed to epoch \(epoch); more than half must")
        }
        do {
            try epochs.record(group, epoch: epoch, members: members)
        } catch {
            return .lost("could not record epoch \(epoch): \(error)")
        }
        return .won(epoch: epoch, votes: votes)
    }

    /// Tells every other server that `group` has `members` from `epoch` on (a server that does not answer learns it from probes later).
    func announce(_ group: Int, epoch: UInt64, members: [Int]) {
        let view = RecordGroupView(group: UInt32(group), epoch: epoch, members: members.map { UInt32($0) })
        for other in 0..<serverCount where other != server {
            _ = askWatch(view, of: other)
        }
    }
}
