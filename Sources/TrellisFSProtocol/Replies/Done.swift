/// The reply of an operation that succeeded with nothing to say.
public struct Done: Sendable, Hashable, WireCodable {
    /// The only value.
    public init() {}
    /// Nothing to write.
    public func encode(into writer: inout WireWriter) {}
    /// Nothing to read.
    public init(from reader: inout WireReader) throws {}
}
