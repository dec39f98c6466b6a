/// The links an object has left after one was dropped: 0 when it is gone.
public struct LinksLeft: Sendable, Hashable, WireRecord {
    /// Entries still naming the object (0: it was deleted).
    public var count: UInt32

    /// The links left.
    public init(_ count: UInt32) { self.count = count }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.count, make: Self.init)
}
