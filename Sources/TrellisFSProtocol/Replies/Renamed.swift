/// A rename's result: the links left to the object the new name replaced
/// (nil when it replaced nothing).
public struct Renamed: Sendable, Hashable, WireRecord {
    /// When the rename replaced an entry: links its object has left (0: it was deleted).
    public var replacedLinksLeft: UInt32?

    /// The outcome of a rename.
    public init(replacedLinksLeft: UInt32?) { self.replacedLinksLeft = replacedLinksLeft }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.replacedLinksLeft, make: Self.init)
}
