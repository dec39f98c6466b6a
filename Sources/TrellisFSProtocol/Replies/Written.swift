/// The bytes a write stored.
public struct Written: Sendable, Hashable, WireRecord {
    /// Bytes written.
    public var bytes: UInt64

    /// The count written.
    public init(bytes: UInt64) { self.bytes = bytes }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.bytes, make: Self.init)
}
