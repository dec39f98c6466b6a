/// How one copy of a replica group stands, as the copy tells it; a
/// primary tells the state of every member of the group as well.
public struct CopyStatus: Sendable, Hashable, WireRecord {
    /// What the copy does now.
    public enum Role: UInt8, Sendable, Hashable, CaseIterable, WireByteEnum {
        /// It answers clients and passes every change on.
        case primary
        /// It takes its primary's changes.
        case secondary
        /// The group went on without it: it waits for a resync.
        case needsResync
        /// Its primary is sending it what it missed.
        case resyncing

        public static let wireName = "replica role"

        /// The name `trellis fs replicas` prints.
        public var name: String {
            switch self {
            case .primary: "primary"
            case .secondary: "secondary"
            case .needsResync: "needs-resync"
            case .resyncing: "resyncing"
            }
        }
    }

    /// The replica group.
    public var group: UInt32
    /// The server holding the copy.
    public var server: UInt32
    /// Its role.
    public var role: Role
    /// The group's epoch as the copy knows it.
    public var epoch: UInt64
    /// The group's members in that epoch, the primary first.
    public var members: [UInt32]
    /// From a primary: every placed member's state (empty from a secondary).
    public var memberStates: [MemberState]

    /// A copy's status.
    public init(group: UInt32, server: UInt32, role: Role, epoch: UInt64, members: [UInt32], memberStates: [MemberState] = []) {
        (self.group, self.server, self.role, self.epoch, self.members, self.memberStates) = (group, server, role, epoch, members, memberStates)
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.group, \.server, \.role, \.epoch, \.members, \.memberStates, make: Self.init)
}

/// A member's state as its group's primary sees it, with the progress of
/// its resync (the states of BeeGFS's mirror groups, with GlusterFS's heal
/// counts).
public struct MemberState: Sendable, Hashable, WireRecord {
    /// The member's state.
    public enum State: UInt8, Sendable, Hashable, CaseIterable, WireByteEnum {
        /// It has every change.
        case good
        /// It owes changes it has not taken yet (it is slow or just restarted).
        case behind
        /// The group went on without it; it is resynced once it asks.
        case needsResync
        /// The primary is sending it what it missed.
        case resyncing

        public static let wireName = "replica member state"

        /// The name `trellis fs replicas` prints.
        public var name: String {
            switch self {
            case .good: "good"
            case .behind: "behind"
            case .needsResync: "needs-resync"
            case .resyncing: "resyncing"
            }
        }
    }

    /// The member's server.
    public var server: UInt32
    /// Its state.
    public var state: State
    /// Changes it is owed (metadata commits and data changes).
    public var owed: UInt64
    /// Whether the resync under way (or the last one) sent everything.
    public var full: Bool
    /// Bytes sent so far by the resync under way (or the last one), and in all.
    public var sentBytes: UInt64, totalBytes: UInt64
    /// Objects (bstreams and metadata snapshots or changesets) sent so far, and in all.
    public var sentObjects: UInt64, totalObjects: UInt64
    /// How long the resync under way has run (or the last one took), in milliseconds.
    public var milliseconds: UInt64

    /// A member's state.
    public init(
        server: UInt32, state: State, owed: UInt64 = 0, full: Bool = false, sentBytes: UInt64 = 0, totalBytes: UInt64 = 0,
        sentObjects: UInt64 = 0, totalObjects: UInt64 = 0, milliseconds: UInt64 = 0
    ) {
        (self.server, self.state, self.owed, self.full) = (server, state, owed, full)
        (self.sentBytes, self.totalBytes, self.sentObjects, self.totalObjects, self.milliseconds) = (sentBytes, totalBytes, sentObjects, totalObjects, milliseconds)
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(
        \.server, \.state, \.owed, \.full, \.sentBytes, \.totalBytes, \.sentObjects, \.totalObjects, \.milliseconds, make: Self.init)
}
