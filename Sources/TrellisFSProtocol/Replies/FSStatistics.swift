/// Space and objects of one server (statfs sums them over all servers).
public struct FSStatistics: Sendable, Hashable, WireRecord {
    /// Storage of all servers together.
    public var totalBytes: UInt64
    /// Free storage of all servers together.
    public var freeBytes: UInt64
    /// Objects of all servers together.
    public var objectCount: UInt64

    /// Totals as reported.
    public init(totalBytes: UInt64, freeBytes: UInt64, objectCount: UInt64) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.objectCount = objectCount
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.totalBytes, \.freeBytes, \.objectCount, make: Self.init)
}
