/// What a server knows of a replica group: the epoch it is in and its
/// members then (the primary first), and, answering a vote, whether it
/// granted it.
public struct GroupView: Sendable, Hashable, WireRecord {
    /// The group's epoch: raised each time its members change.
    public var epoch: UInt64
    /// The group's members in that epoch, its primary first.
    public var members: [UInt32]
    /// Whether the vote asked was granted.
    public var granted: Bool

    /// A view of a group.
    public init(epoch: UInt64, members: [UInt32], granted: Bool = false) {
        self.epoch = epoch
        self.members = members
        self.granted = granted
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.epoch, \.members, \.granted, make: Self.init)
}
