import TrellisFSDistribution

/// The bytes each of a list of datafiles holds, in the list's order.
public struct Sizes: Sendable, Hashable, WireRecord {
    public var bytes: [UInt64]

    public init(bytes: [UInt64]) { self.bytes = bytes }

    public static let wireForm = WireForm<Self>(\.bytes, make: { bytes in
        guard bytes.count <= Distribution.maximumDatafiles else { throw FSError(.protocolViolation, "\(bytes.count) sizes") }
        return Sizes(bytes: bytes)
    })
}
