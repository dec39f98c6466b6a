/// The bytes a write stored.
public struct Written: Sendable, Hashable, WireRecord {
    public var bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }

    public static let wireForm = WireForm<Self>(\.bytes, make: Self.init)
}
