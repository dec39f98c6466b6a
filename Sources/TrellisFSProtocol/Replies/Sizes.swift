import TrellisFSDistribution

/// The bytes each of a list of datafiles holds, in the list's order.
public struct Sizes: Sendable, Hashable, WireRecord {
    /// One size per datafile asked for, in order.
    public var bytes: [UInt64]

    /// The sizes.
    public init(bytes: [UInt64]) { self.bytes = bytes }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.bytes, make: { bytes in
        guard bytes.count <= Distribution.maximumDatafiles else { throw FSError(.protocolViolation, "\(bytes.count) sizes") }
        return Sizes(bytes: bytes)
    })
}
