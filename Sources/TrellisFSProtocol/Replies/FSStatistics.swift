/// Space and objects of one server (statfs sums them over all servers).
public struct FSStatistics: Sendable, Hashable, WireRecord {
    public var totalBytes: UInt64
    public var freeBytes: UInt64
    public var objectCount: UInt64

    public init(totalBytes: UInt64, freeBytes: UInt64, objectCount: UInt64) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.objectCount = objectCount
    }

    public static let wireForm = WireForm<Self>(\.totalBytes, \.freeBytes, \.objectCount, make: Self.init)
}
