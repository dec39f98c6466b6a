/// A rename's result: what is left of the object the new name replaced
/// (nil when it replaced nothing).
public struct Renamed: Sendable, Hashable, WireRecord {
    /// When the rename replaced an entry: links its object has left (0: it
    /// was deleted, with the capability to delete its other datafiles).
    public var replaced: LinksLeft?

    /// The outcome of a rename.
    public init(replaced: LinksLeft?) { self.replaced = replaced }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.replaced, make: Self.init)
}
