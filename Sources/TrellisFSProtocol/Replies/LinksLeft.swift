/// The links an object has left after one was dropped: 0 when it is gone,
/// and then, on a file system with a key, the capability to delete the
/// file's datafiles that its owner does not hold (the client deletes them).
public struct LinksLeft: Sendable, Hashable, WireRecord {
    /// Entries still naming the object (0: it was deleted).
    public var count: UInt32
    /// With `count` 0: what allows the deletion of the file's other datafiles.
    public var removal: Capability?

    /// The links left.
    public init(_ count: UInt32, removal: Capability? = nil) {
        self.count = count
        self.removal = removal
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.count, \.removal, make: Self.init)
}
