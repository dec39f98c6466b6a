import Glibc
import Synchronization
import TrellisCore
import TrellisFSProtocol

/// Watches one copy's replica group from this server. A secondary that
/// cannot reach its primary for `failoverSeconds` asks every server to let it
/// take over (the first secondary in failover order first); a primary that
/// cannot reach a secondary asks to go on without it. Either change takes the
/// votes of more than half of the file system's servers for a new epoch, and
/// each server votes once per epoch and only to drop members it cannot reach
/// itself, so two sides of a cut network never both change a group (the
/// rule BeeGFS keeps with one management daemon, Ceph with its monitors'
/// Paxos; here the servers themselves are the majority). A copy that finds
/// its group went on without it leaves the group's service.
final class FailoverWatch: @unchecked Sendable {
    let group: Int
    private let role: ReplicaRole
    private let secondaries: Secondaries
    private let replication: ReplicationContext
    private let linesTo: @Sendable ([Int]) -> Replicator?
    private let failoverSeconds: Double
    private let log: @Sendable (String) -> Void
    /// Told whether this copy now serves as its group's primary.
    private let serving: @Sendable (Bool) -> Void
    private let stopped = Atomic<Bool>(false)
    /// When each member was first found not answering (monotonic seconds).
    private var silentSince: [Int: Double] = [:]

    /// A watch of `group`'s copy with `role`; `linesTo` makes the lines to a
    /// list of secondaries, for when this copy becomes (or stays) primary with them.
    init(
        group: Int, role: ReplicaRole, secondaries: Secondaries, replication: ReplicationContext, failoverSeconds: Double,
        linesTo: @escaping @Sendable ([Int]) -> Replicator?, serving: @escaping @Sendable (Bool) -> Void, log: @escaping @Sendable (String) -> Void
    ) {
        self.serving = serving
        self.group = group
        self.role = role
        self.secondaries = secondaries
        self.replication = replication
        self.failoverSeconds = failoverSeconds
        self.linesTo = linesTo
        self.log = log
    }

    /// Watches until `stop`, every half second.
    func run() {
        while !stopped.load(ordering: .relaxed) {
            check()
            for _ in 0..<5 where !stopped.load(ordering: .relaxed) { usleep(100_000) }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Before serving: asks the group's other members whether the group went
    /// on without this copy while it was away.
    func catchUp() {
        guard let entry = replication.epochs.entry(group) else { return }
        for member in entry.members where member != replication.server {
            if let view = replication.probe(group: group, member: member), view.epoch > entry.epoch {
                learn(view, after: entry)
                return
            }
        }
    }

    /// One look at the group.
    func check() {
        guard !role.isStale, let entry = replication.epochs.entry(group) else { return }
        let me = replication.server
        guard let place = entry.members.firstIndex(of: me) else {
            role.leaveGroup()
            serving(false)
            return
        }
        if place == 0 {
            var gone: [Int] = []
            for member in entry.members.dropFirst() {
                if let view = answer(of: member) {
                    if view.epoch > entry.epoch { return learn(view, after: entry) }
                } else if silence(of: member) >= failoverSeconds {
                    gone.append(member)
                }
            }
            if !gone.isEmpty { elect(entry.members.filter { !gone.contains($0) }, dropping: gone, after: entry) }
        } else {
            let primary = entry.members[0]
            if let view = answer(of: primary) {
                if view.epoch > entry.epoch { learn(view, after: entry) }
            } else if silence(of: primary) >= failoverSeconds * Double(place) {
                // The first secondary in failover order tries first; the next only if it could not.
                elect([me] + entry.members.filter { $0 != me && $0 != primary }, dropping: [primary], after: entry)
            }
        }
    }

    private func answer(of member: Int) -> GroupView? {
        let view = replication.probe(group: group, member: member)
        if view != nil { silentSince[member] = nil } else if silentSince[member] == nil { silentSince[member] = (Double(MonotonicClock.nanoseconds()) / 1e9) }
        return view
    }

    private func silence(of member: Int) -> Double {
        silentSince[member].map { (Double(MonotonicClock.nanoseconds()) / 1e9) - $0 } ?? 0
    }

    /// Asks every server for `epoch + 1` with `members`; takes it with more than half.
    private func elect(_ members: [Int], dropping dropped: [Int], after entry: GroupEpochs.Entry) {
        let (epoch, overflow) = max(entry.epoch, entry.promised).addingReportingOverflow(1)
        guard !overflow else { return log("group \(group): its epoch cannot rise any further") }
        guard (try? replication.epochs.promise(group, epoch: epoch)) == true else { return }
        let vote = VoteForMembers(group: UInt32(group), epoch: epoch, members: members.map { UInt32($0) }, dropped: dropped.map { UInt32($0) })
        var granted = 1
        for voter in 0..<replication.serverCount where voter != replication.server {
            // A voter probes the members to drop itself, so it gets longer than one probe.
            guard let view = replication.ask(vote, of: replication.serverServiceName(voter), server: voter, seconds: 3 * replication.probeSeconds) else { continue }
            if view.granted {
                granted += 1
            } else if view.epoch > entry.epoch {
                return learn(view, after: entry)
            }
        }
        guard granted * 2 > replication.serverCount else {
            log("group \(group): \(granted) of \(replication.serverCount) servers agreed to go on without \(dropped) at epoch \(epoch); more than half must")
            return
        }
        do {
            try replication.epochs.record(group, epoch: epoch, members: members)
        } catch {
            log("group \(group): could not record epoch \(epoch): \(error)")
            return
        }
        log("group \(group): epoch \(epoch), members \(members) (primary \(members[0])), without \(dropped); \(granted) of \(replication.serverCount) servers agreed")
        take(members)
    }

    private func learn(_ view: GroupView, after entry: GroupEpochs.Entry) {
        let members = view.members.map(Int.init)
        guard (try? replication.epochs.record(group, epoch: view.epoch, members: members)) == true else { return }
        log("group \(group): learned epoch \(view.epoch), members \(members)")
        // A copy that was primary, or away, may hold changes the others never
        // had, or lack some they have: it stays out until it is resynced.
        if members.first != replication.server, role.isPrimary || !members.contains(replication.server) {
            role.leaveGroup()
            serving(false)
            secondaries.replace(with: nil)
            log("group \(group): this copy left the group's service; it needs a resync")
            return
        }
        take(members)
    }

    /// Serves the group as its members say: primary with lines to the others, or secondary.
    private func take(_ members: [Int]) {
        guard members.first == replication.server else { return }
        secondaries.replace(with: linesTo(Array(members.dropFirst())))
        role.promote()
        serving(true)
    }
}
