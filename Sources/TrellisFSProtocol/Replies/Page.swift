/// One page of a listing or a scan; `more` when entries remain after the last.
public struct Page<Element: WireCodable & Sendable & Hashable>: Sendable, Hashable, WireRecord {
    /// This page's items, in order.
    public var entries: [Element]
    /// Whether more follow (ask again after the last).
    public var more: Bool

    /// A page of items.
    public init(entries: [Element], more: Bool) {
        self.entries = entries
        self.more = more
    }

    /// How it is written on the wire: its fields in order.
    public static var wireForm: WireForm<Self> { WireForm(\.entries, \.more, make: Self.init) }
}
