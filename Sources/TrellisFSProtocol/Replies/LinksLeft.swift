/// The links an object has left after one was dropped: 0 when it is gone.
public struct LinksLeft: Sendable, Hashable, WireRecord {
    public var count: UInt32

    public init(_ count: UInt32) { self.count = count }

    public static let wireForm = WireForm<Self>(\.count, make: Self.init)
}
