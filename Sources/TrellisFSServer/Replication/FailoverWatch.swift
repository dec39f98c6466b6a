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
/// its group went on without it leaves the group's service and asks the
/// primary for a resync, which ends with the group taking it back.
final class FailoverWatch: @unchecked Sendable {
    let group: Int
    private let role: ReplicaRole
    private let secondaries: Secondaries
    private let replication: ReplicationContext
    /// Lines to secondaries, and whether they are known to hold every change made so far.
    private let linesTo: @Sendable ([Int], Bool) -> Replicator?
    private let failoverSeconds: Double
    private let log: @Sendable (String) -> Void
    /// Whether this server's storage was made anew (a copy then asks for everything).
    private let madeAnew: @Sendable () -> Bool
    /// Told whether this copy now serves as its group's primary.
    private let serving: @Sendable (Bool) -> Void
    private let stopped = Atomic<Bool>(false)
    /// When each member was first found not answering (monotonic seconds).
    private var silentSince: [Int: Double] = [:]
    /// The epoch whose members this copy acts on, and its primary.
    private var actedEpoch: UInt64
    private var actedPrimary: Int?
    /// This copy was a secondary when another copy took its group over: the
    /// changes on their way when the old primary went may have reached one
    /// of them and not the other, so it leaves the group to be resynced in full.
    private var leavesForResync = false
    /// When this copy last asked for a resync (monotonic seconds).
    private var askedForResync = 0.0
    /// When the watch began watching: a member not heard from since, and whose
    /// watch is not published, is not counted silent before `startupSeconds`
    /// more (the servers of a file system start one after another, and a
    /// server with new storage waits before it starts).
    private var startedAt = FailoverWatch.now()
    private var heardFrom: Set<Int> = []
    static let startupSeconds = 10.0

    /// A watch of `group`'s copy with `role`; `linesTo` makes the lines to a
    /// list of secondaries, for when this copy becomes primary with them.
    init(
        group: Int, role: ReplicaRole, secondaries: Secondaries, replication: ReplicationContext, failoverSeconds: Double,
        linesTo: @escaping @Sendable ([Int], Bool) -> Replicator?, serving: @escaping @Sendable (Bool) -> Void, log: @escaping @Sendable (String) -> Void,
        madeAnew: @escaping @Sendable () -> Bool = { false }
    ) {
        self.madeAnew = madeAnew
        self.serving = serving
        self.group = group
        self.role = role
        self.secondaries = secondaries
        self.replication = replication
        self.failoverSeconds = failoverSeconds
        self.linesTo = linesTo
        self.log = log
        actedEpoch = replication.epochs.entry(group)?.epoch ?? 0
        actedPrimary = replication.epochs.entry(group)?.members.first
    }

    /// Watches until `stop`, every half second.
    func run() {
        startedAt = Self.now()
        while !stopped.load(ordering: .relaxed) {
            check()
            for _ in 0..<5 where !stopped.load(ordering: .relaxed) { usleep(100_000) }
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    /// Whether this copy serves in its group now (as primary or secondary).
    var servesInGroup: Bool { !role.isOutOfGroup }

    /// Before serving: asks the group's other members whether the group went
    /// on without this copy while it was away.
    func learnNewestEpoch() {
        guard let entry = replication.epochs.entry(group) else { return }
        for member in replication.placement.members[group] where member != replication.server {
            if let view = replication.probe(group: group, member: member), view.epoch > entry.epoch {
                learn(view)
                return
            }
        }
    }

    /// One look at the group.
    func check() {
        guard let entry = replication.epochs.entry(group) else { return }
        // A vote's outcome another server announced.
        if entry.epoch > actedEpoch { adopt(entry) }
        let me = replication.server
        if role.isOutOfGroup, entry.members.first == me { return handOver(entry) }
        guard !role.isOutOfGroup, let place = entry.members.firstIndex(of: me) else { return askForResync() }
        if place == 0 {
            var gone: [Int] = []
            let asked = MonotonicClock.nanoseconds()
            var everyMemberAnswered = true
            for member in entry.members.dropFirst() {
                if let view = answer(of: member) {
                    if view.epoch > entry.epoch { return learn(view) }
                } else {
                    everyMemberAnswered = false
                    if silence(of: member) >= failoverSeconds { gone.append(member) }
                }
            }
            if everyMemberAnswered { renewLease(asked: asked, alone: entry.members.count == 1) }
            if !gone.isEmpty { return elect(entry.members.filter { !gone.contains($0) }, dropping: gone) }
        } else if let reason = role.failedStorage {
            // Its primary's changes do not fit here: the group goes on without this copy, which is resynced later.
            log("group \(group): this copy's storage failed (\(reason)); it asks to leave the group")
            elect(entry.members.filter { $0 != me }, dropping: [me], stepsDown: true)
        } else if leavesForResync, answer(of: entry.members[0]) != nil {
            // Only once the new primary answers: a group left to a silent primary would stop.
            log("group \(group): server \(entry.members[0]) took the group over; this copy may lack changes it has, or hold some it lacks, so it asks to leave the group and be resynced")
            elect(entry.members.filter { $0 != me }, dropping: [me], stepsDown: true)
        } else {
            let primary = entry.members[0]
            if let view = answer(of: primary) {
                if view.epoch > entry.epoch { learn(view) }
            } else if silence(of: primary) >= failoverSeconds * Double(place) {
                // The first secondary in failover order tries first; the next only if it could not.
                elect([me] + entry.members.filter { $0 != me && $0 != primary }, dropping: [primary])
            }
        }
    }

    /// A primary that heard from every other member (each probe asked at
    /// `asked` or later) serves for `failoverSeconds - probeSeconds` more:
    /// a member that stops hearing from it counts its silence from the start
    /// of its first unanswered probe, at most `probeSeconds` before this
    /// primary's last answered one began, and waits `failoverSeconds` before
    /// it asks to take over, so the lease ends before any other copy can
    /// serve (as a leader lease in Chubby or Raft), clocks running at
    /// the same rate. A group of one needs no lease: no copy can take over.
    private func renewLease(asked: UInt64, alone: Bool) {
        let seconds = failoverSeconds - replication.probeSeconds
        role.holdLease(until: alone ? UInt64.max : asked + UInt64(max(seconds, 0) * 1e9))
    }

    private func answer(of member: Int) -> GroupView? {
        // Silence counts from when the probe that found it began.
        let asked = Self.now()
        let view = replication.probe(group: group, member: member)
        if view != nil {
            silentSince[member] = nil
            heardFrom.insert(member)
        } else if silentSince[member].map({ $0 > asked }) ?? true {
            // The startup grace is for a member that has not started yet; one that answered a change
            // or published its watch did, even if it died before a probe reached it (a server killed as it began).
            let started = heardFrom.contains(member) || secondaries.current?.hasAnswered(member) == true || replication.hasStarted(member)
            silentSince[member] = started ? asked : max(asked, startedAt + Self.startupSeconds)
        }
        return view
    }

    private func silence(of member: Int) -> Double {
        silentSince[member].map { max(Self.now() - $0, 0) } ?? 0
    }

    private static func now() -> Double { Double(MonotonicClock.nanoseconds()) / 1e9 }

    /// A primary that did not stop cleanly may hold changes it never passed
    /// on (or owed a secondary changes it no longer knows): it does not serve
    /// again at its old epoch. It hands the group to a secondary that
    /// answers, and is resynced from it; when none answers, it serves alone
    /// once more than half of the servers agree the others are gone (they
    /// are resynced when they return).
    private func handOver(_ entry: GroupEpochs.Entry) {
        let me = replication.server
        let others = Array(entry.members.dropFirst())
        if others.contains(where: { answer(of: $0) != nil }) {
            elect(others, dropping: [me], stepsDown: true)
        } else if others.allSatisfy({ silence(of: $0) >= failoverSeconds }) {
            elect([me], dropping: others)
        }
    }

    /// Asks the group's members for a new epoch with `members`, without `dropped`.
    private func elect(_ members: [Int], dropping dropped: [Int], stepsDown: Bool = false) {
        switch replication.elect(group, members: members, dropping: dropped, stepsDown: stepsDown) {
        case .won(let epoch, let votes):
            replication.announce(group, epoch: epoch, members: members)
            log("group \(group): epoch \(epoch), members \(members) (primary \(members[0])), without \(dropped); \(votes) of \(replication.serverCount) servers agreed")
            if let entry = replication.epochs.entry(group) { adopt(entry) }
        case .lost(let reason):
            log("group \(group): no new epoch without \(dropped): \(reason)")
        case .superseded(let view):
            learn(view)
        }
    }

    /// Records a newer epoch a member told of, and acts on it.
    private func learn(_ view: GroupView) {
        let members = view.members.map(Int.init)
        guard (try? replication.epochs.record(group, epoch: view.epoch, members: members)) == true, let entry = replication.epochs.entry(group) else { return }
        log("group \(group): learned epoch \(view.epoch), members \(members)")
        adopt(entry)
    }

    /// Serves the group as its members in `entry` say: primary with lines to
    /// the others, secondary, or out of the group until resynced.
    private func adopt(_ entry: GroupEpochs.Entry) {
        let primaryChanged = actedPrimary.map { $0 != entry.members.first } ?? false
        actedEpoch = entry.epoch
        actedPrimary = entry.members.first
        let me = replication.server
        let others = Array(entry.members.dropFirst())
        if entry.members.first == me {
            // Out of the group, it leads only a group of its own (a primary that restarted alone).
            guard !role.isOutOfGroup || entry.members == [me] else { return }
            if role.isPrimary, let replicator = secondaries.current {
                replicator.change(to: others)
            } else {
                // Which of the old primary's last changes the others took is not known: a copy that leaves is resynced in full.
                leavesForResync = false
                secondaries.replace(with: linesTo(others, false))
                // It serves once every other member has answered it (at once, for a group of one).
                let asked = MonotonicClock.nanoseconds()
                let answered = others.allSatisfy { answer(of: $0) != nil }
                role.holdLease(until: 0)
                if answered { renewLease(asked: asked, alone: others.isEmpty) }
                role.promote()
                serving(true)
            }
        } else if entry.members.contains(me), !role.isPrimary {
            // Back in the group: only a resync that sent everything is taken back.
            if role.isOutOfGroup {
                role.rejoin()
                log("group \(group): this copy is a secondary again at epoch \(entry.epoch)")
            } else if primaryChanged {
                leavesForResync = true
            }
        } else if !role.isOutOfGroup {
            // A copy that was primary, or away, may hold changes the others never had, or lack some they have.
            role.leaveGroup()
            leavesForResync = false
            serving(false)
            secondaries.replace(with: nil)
            log("group \(group): this copy left the group's service at epoch \(entry.epoch); it needs a resync")
        }
    }

    /// Asks the group's primary, as the newest epoch names it, to resync this copy (every few seconds, while out of the group).
    private func askForResync() {
        guard Self.now() - askedForResync >= 2 else { return }
        askedForResync = Self.now()
        var newest: GroupView?
        for member in replication.placement.members[group] where member != replication.server {
            if let view = replication.probe(group: group, member: member), view.epoch > (newest?.epoch ?? 0) { newest = view }
        }
        guard let newest else { return }
        if let entry = replication.epochs.entry(group), newest.epoch > entry.epoch {
            learn(newest)
            guard role.isOutOfGroup else { return }
        }
        guard let primary = newest.members.first.map(Int.init), primary != replication.server else { return }
        _ = replication.ask(RequestResync(group: UInt32(group), member: UInt32(replication.server), full: madeAnew()), of: replication.copyServiceName(group, primary), server: primary)
    }
}
