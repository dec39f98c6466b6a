import Foundation
import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisFSStorage

/// What a copy of a replica group does now: the primary answers clients
/// and sends every change to the secondaries; a secondary takes only what
/// its primary sends. A secondary becomes primary when its group fails
/// over. A copy the group went on without needs a resync, and while its
/// primary resyncs it, it takes what the primary sends but is not yet a member.
public final class ReplicaRole: Sendable {
    private static let secondary: UInt8 = 0, primary: UInt8 = 1, stale: UInt8 = 2, resyncing: UInt8 = 3
    private let state: Atomic<UInt8>
    /// Why this copy's storage failed a change its primary relayed (a full
    /// disk, an I/O error), until it leaves its group.
    private let storageFailure = Mutex<String?>(nil)
    /// Until when (monotonic nanoseconds) a primary may serve: it heard from
    /// every other member of its group recently enough that none of them
    /// can have taken over yet (`FailoverWatch` renews it).
    private let leaseEnds = Atomic<UInt64>(UInt64.max)

    /// A copy that starts as its group's primary, as a secondary, or (not a
    /// member of its group) needing a resync.
    public init(primary: Bool, member: Bool = true) {
        state = Atomic(!member ? Self.stale : primary ? Self.primary : Self.secondary)
    }

    /// Whether this copy is its group's primary.
    public var isPrimary: Bool { state.load(ordering: .acquiring) == Self.primary }

    /// Whether this copy was left out of its group (it missed changes the
    /// group's other members have, and serves nothing until resynced).
    public var isStale: Bool { state.load(ordering: .acquiring) == Self.stale }

    /// Whether its primary is resyncing this copy.
    public var isResyncing: Bool { state.load(ordering: .acquiring) == Self.resyncing }

    /// Whether this copy is out of its group (needing, or under, a resync).
    public var isOutOfGroup: Bool { isStale || isResyncing }

    /// The role as `trellis fs replicas` shows it.
    public var status: CopyStatus.Role {
        switch state.load(ordering: .acquiring) {
        case Self.primary: .primary
        case Self.stale: .needsResync
        case Self.resyncing: .resyncing
        default: .secondary
        }
    }

    /// Makes this copy its group's primary.
    public func promote() { state.store(Self.primary, ordering: .releasing) }

    /// A primary may serve until `nanoseconds` (monotonic); `UInt64.max`
    /// when no other copy could take over (a group of one).
    func holdLease(until nanoseconds: UInt64) { leaseEnds.store(nanoseconds, ordering: .releasing) }

    /// Whether a primary's lease has run out: it did not hear from every
    /// other member in time, and one of them may be taking over.
    var leaseLapsed: Bool { MonotonicClock.nanoseconds() > leaseEnds.load(ordering: .acquiring) }

    /// Takes this copy out of its group's service: the group went on without it.
    public func leaveGroup() {
        state.store(Self.stale, ordering: .releasing)
        storageFailure.withLock { $0 = nil }
    }

    /// A secondary's storage failed a relayed change: the copy asks its group to go on without it.
    func noteStorageFailure(_ reason: String) {
        guard state.load(ordering: .acquiring) == Self.secondary else { return }
        storageFailure.withLock { $0 = $0 ?? reason }
    }

    /// Why this copy's storage failed a relayed change (nil: it did not).
    var failedStorage: String? { storageFailure.withLock { $0 } }

    /// Its primary starts sending what it missed.
    public func beginResync() { state.store(Self.resyncing, ordering: .releasing) }

    /// The group took this copy back as a secondary.
    public func rejoin() { state.store(Self.secondary, ordering: .releasing) }

    /// Why this copy of `group` refuses `kind`, or nil when it takes it. A
    /// secondary takes only what a primary relays (`notPrimary` tells a
    /// client to find the group's primary), and nothing relayed from an
    /// epoch older than `knownEpoch` (a deposed primary's); a copy out of
    /// its group takes only a resync; a primary takes no relayed change.
    func refusal(of kind: any FSOperation.Type, group: Int, relayEpoch: UInt64?, knownEpoch: UInt64?) -> FSError? {
        let relayed = relayEpoch != nil && kind is any SentByPrimary.Type
        if kind is any AnyRoleTakes.Type, !(kind is any SentByPrimary.Type) { return nil }
        if let relayEpoch, let knownEpoch, relayEpoch < knownEpoch {
            return FSError(.notPrimary, "group \(group) is at epoch \(knownEpoch): a change relayed at epoch \(relayEpoch) comes from a primary it went on without")
        }
        if isPrimary {
            guard relayEpoch != nil || Self.onlyRelayed.contains(where: { $0 == kind }) else {
                // Cut off from its group's other copies, it serves nothing they might already have changed (no split brain).
                guard !leaseLapsed else {
                    return FSError(
                        .serverUnavailable, "group \(group)'s primary has not heard from every other copy of the group lately: "
                            + "it serves again once it does, or another copy takes over")
                }
                return nil
            }
            return FSError(.notPermitted, "group \(group)'s primary takes no \(kind.name) from another: only a copy takes its primary's changes")
        }
        if isStale && !(relayed && kind == BeginResync.self) || isResyncing && !relayed {
            return FSError(.notPrimary, "this copy of group \(group) was left out of the group while it was away: \(kind.name) goes to the group's primary")
        }
        guard relayed else {
            return FSError(.notPrimary, "this copy of group \(group) is a secondary: \(kind.name) goes to the group's primary")
        }
        return nil
    }

    /// What only a primary sends, never a client.
    private static let onlyRelayed: [any FSOperation.Type] = [ApplyChanges.self, DropBstreams.self, BeginResync.self, ResyncMetadata.self]
}

/// An operation a primary sends to its group's secondaries (its own
/// changes, or a client's data write passed on), which a secondary carries
/// out on its copy; `missed` is what a copy that did not take it lacks.
protocol SentByPrimary: FSOperation {
    var missed: MissedChange { get }
}

/// An operation every copy answers, whatever its role: the group's
/// bookkeeping (views, votes, status), and the start of a resync.
protocol AnyRoleTakes: FSOperation {}

extension GetGroupView: AnyRoleTakes {}
extension VoteForMembers: AnyRoleTakes {}
extension RecordGroupView: AnyRoleTakes {}
extension GetReplicaStatus: AnyRoleTakes {}
extension RequestResync: AnyRoleTakes {}
extension BeginResync: AnyRoleTakes {}
extension BeginResync: SentByPrimary {
    var missed: MissedChange { .bstreams([]) }
}

extension ApplyChanges: SentByPrimary {
    var missed: MissedChange { .rows(Changeset(bytes: Data(changeset.readableBytesView))) }
}
extension DropBstreams: SentByPrimary {
    var missed: MissedChange { .bstreams(datafiles) }
}
extension WriteData: SentByPrimary {
    var missed: MissedChange { .bstreams([datafile]) }
}
extension TruncateDatafile: SentByPrimary {
    var missed: MissedChange { .bstreams([datafile]) }
}
extension SyncDatafiles: SentByPrimary {
    var missed: MissedChange { .bstreams([]) }
}
extension ResyncMetadata: SentByPrimary {
    var missed: MissedChange { .bstreams([]) }
}
