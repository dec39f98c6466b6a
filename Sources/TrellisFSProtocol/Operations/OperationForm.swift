/// Everything an operation is besides its fields, in one declaration: its
/// wire code, the type of its reply, whether carrying it out twice does no
/// harm (otherwise the server records its reply with its change, so that a
/// client that sends it again after a reply was lost with its server gets
/// that reply instead of a second change), whether answering may change what the server stores (so it runs
/// inside a metadata commit, which a server's group commit batches; an
/// operation that only reads needs none), and its wire form: the fields, in
/// order, and how to make the operation from them (where its checks go).
///
/// ```swift
/// public static let form = OperationForm<Self, ObjectAttributes>(
///     code: 2, idempotent: true, commits: false, \.parent, \.name, make: Self.init)
/// ```
public struct OperationForm<Operation, Reply: WireCodable & Sendable & Equatable>: Sendable {
    /// The number on the wire.
    public let code: UInt16
    /// Whether doing it twice does no harm (otherwise its reply is recorded, for resends).
    public let isIdempotent: Bool
    /// Whether answering may change what the server stores.
    public let commits: Bool
    let wire: WireForm<Operation>

    /// An operation's form: code, rules, fields in order and how to make it from them.
    public init<each Field: WireCodable & SendableMetatype>(
        code: UInt16, idempotent: Bool, commits: Bool, _ field: repeat KeyPath<Operation, each Field>,
        make: @escaping @Sendable (repeat each Field) throws -> Operation
    ) {
        self.code = code
        self.isIdempotent = idempotent
        self.commits = commits
        wire = WireForm(repeat each field, make: make)
    }
}
