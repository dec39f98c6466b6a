import GRDB

/// A row a changeset expected otherwise: an insert found it there (and
/// replaced it), a delete or an update did not find it (and was left out).
public struct RowConflict: Sendable, CustomStringConvertible {
    /// What the changeset did to the row.
    public enum Change: String, Sendable { case insert, delete, update }
    /// The row's table.
    public let table: String
    /// What the changeset did to it.
    public let change: Change
    /// The row's primary key, as SQLite shows its values.
    public let key: [String]

    init(table: String, change: Change, key: [DatabaseValue]) {
        self.table = table
        self.change = change
        self.key = key.map(\.description)
    }

    /// The row and what was not as expected, for logs.
    public var description: String {
        let found = change == .insert ? "was there already" : "was not there"
        return "\(table) row (\(key.joined(separator: ", "))) \(found) for its \(change.rawValue)"
    }
}
