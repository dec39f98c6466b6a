/// Asks a server to agree that a replica group goes on, from `epoch`, with
/// `members` (the primary first), without the members `dropped` that it can
/// no longer reach, or (with none dropped) with members its primary has
/// just resynced added at the end. A change of members needs the votes of a majority of
/// the file system's servers, and a server votes at most once per epoch, so
/// two sides of a cut network can never both change a group.
public struct VoteForMembers: FSOperation {
    /// Code 45 on the wire, answered with ``GroupView``; resent after a lost connection (a server answers the same epoch the same way); records the promise.
    public static let form = OperationForm<Self, GroupView>(
        code: 45, idempotent: true, commits: false, \.group, \.epoch, \.members, \.dropped, \.stepsDown, make: Self.init)
    /// The replica group.
    public var group: UInt32
    /// The epoch it would start.
    public var epoch: UInt64
    /// Its members from then on, the primary first.
    public var members: [UInt32]
    /// Members left out because the asker cannot reach them (none: members are added).
    public var dropped: [UInt32]
    /// Whether the one member dropped is the asker, stepping down: a primary
    /// that restarted may hold changes it never passed on, so it hands the
    /// group to a secondary and is resynced.
    public var stepsDown: Bool
    /// The request as a member of the group sends it.
    public init(group: UInt32, epoch: UInt64, members: [UInt32], dropped: [UInt32], stepsDown: Bool = false) {
        (self.group, self.epoch, self.members, self.dropped, self.stepsDown) = (group, epoch, members, dropped, stepsDown)
    }
}
