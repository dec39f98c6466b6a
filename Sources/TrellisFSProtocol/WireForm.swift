/// A value's wire form as a list of its fields, in order, and how to make
/// the value from them (where its checks go): what a record type declares
/// in place of a hand-written encoder and decoder.
///
/// ```swift
/// extension EntryCursor: WireRecord {
///     public static let wireForm = WireForm<Self>(\.directory, \.name, make: Self.init)
/// }
/// ```
public struct WireForm<Value>: Sendable {
    let encode: @Sendable (Value, inout WireWriter) -> Void
    let decode: @Sendable (inout WireReader) throws -> Value

    /// The form of a value with these fields, in order, made again by `make` (which may throw to refuse bad values).
    public init<each Field: WireCodable & SendableMetatype>(
        _ field: repeat KeyPath<Value, each Field>, make: @escaping @Sendable (repeat each Field) throws -> Value
    ) {
        // Key paths to stored properties hold no state, so sharing them across threads is safe.
        nonisolated(unsafe) let fields = (repeat each field)
        encode = { value, writer in
            repeat writer.write(value[keyPath: each fields])
        }
        decode = { reader in try make(repeat try reader.read((each Field).self)) }
    }
}

/// A value whose wire form is its `wireForm`.
public protocol WireRecord: WireCodable {
    static var wireForm: WireForm<Self> { get }
}

extension WireRecord {
    /// Writes the fields in order.
    public func encode(into writer: inout WireWriter) { Self.wireForm.encode(self, &writer) }
    /// Reads the fields and makes the value.
    public init(from reader: inout WireReader) throws { self = try Self.wireForm.decode(&reader) }
}
