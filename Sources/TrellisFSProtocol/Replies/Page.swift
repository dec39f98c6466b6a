/// One page of a listing or a scan; `more` when entries remain after the last.
public struct Page<Element: WireCodable & Sendable & Hashable>: Sendable, Hashable, WireRecord {
    public var entries: [Element]
    public var more: Bool

    public init(entries: [Element], more: Bool) {
        self.entries = entries
        self.more = more
    }

    public static var wireForm: WireForm<Self> { WireForm(\.entries, \.more, make: Self.init) }
}
