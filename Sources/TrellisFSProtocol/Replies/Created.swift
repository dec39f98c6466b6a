/// A create's result: the object made, and its directory as it was just
/// before, in the same transaction (NFSv3's weak cache consistency data).
/// A client that knows every name a directory held at `directoryBefore`
/// still knows every name after its own create when the two match, so it
/// can answer a lookup of any other name as absent without asking.
public struct Created: Sendable, Hashable, WireRecord {
    /// The object made, as `Stat` would answer.
    public var object: ObjectAttributes
    /// The directory's version just before this create.
    public var directoryBefore: DirectoryVersion

    /// The outcome of a create.
    public init(object: ObjectAttributes, directoryBefore: DirectoryVersion) {
        self.object = object
        self.directoryBefore = directoryBefore
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.object, \.directoryBefore, make: Self.init)
}

/// What tells one state of a directory's entries from another: its change
/// time (which every entry added or removed sets, to a moment of the
/// server's clock in nanoseconds, and which no client can set) and its
/// entry count.
public struct DirectoryVersion: Sendable, Hashable, WireRecord {
    /// The directory's change time (ctime).
    public var changeTime: Timestamp
    /// How many entries it held.
    public var entries: UInt64

    /// A directory's version from its two parts.
    public init(changeTime: Timestamp, entries: UInt64) {
        self.changeTime = changeTime
        self.entries = entries
    }

    /// The version of a directory whose attributes these are.
    public init(_ directory: ObjectAttributes) {
        self.init(changeTime: directory.changeTime, entries: directory.size)
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.changeTime, \.entries, make: Self.init)
}
