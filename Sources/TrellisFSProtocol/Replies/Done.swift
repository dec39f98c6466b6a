/// The reply of an operation that succeeded with nothing to say.
public struct Done: Sendable, Hashable, WireCodable {
    public init() {}
    public func encode(into writer: inout WireWriter) {}
    public init(from reader: inout WireReader) throws {}
}
