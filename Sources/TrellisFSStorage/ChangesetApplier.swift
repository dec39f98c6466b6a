import Foundation
import GRDB
import TrellisFSProtocol

/// Applies a primary's changeset to a replica's database with statements
/// the connection keeps prepared. SQLite's own `sqlite3changeset_apply`
/// prepares its statements anew on every call, which cost a replica about
/// 1.5 ms per commit on this project's 2-core test machine, more than
/// everything else a replicated create does. The outcome is the one the
/// session extension gives with the conflict policy replicas use: a row
/// that is already there is replaced, a row that is not there to delete or
/// update is left out, and either counts as a conflict. (An update whose old
/// values differ is applied without being counted.)
enum ChangesetApplier {
    /// Applies `tables` in the connection's open transaction; returns how
    /// many rows were not as the changeset expected. Throws for a table that
    /// is not one of the replicated ones, or that does not have the columns
    /// and key the changeset says; the caller's savepoint then undoes it all.
    /// `schemas` keeps each table's columns as read from the database, so
    /// that they are read once per connection, not once per changeset.
    static func apply(_ tables: [Changeset.TableChanges], to db: Database, schemas: inout [String: TableSchema]) throws -> Int {
        var conflicts = 0
        for table in tables {
            let columns = try columnNames(of: table, in: db, schemas: &schemas)
            let name = quoted(table.name)
            let key = table.primaryKey.indices.filter { table.primaryKey[$0] > 0 }.sorted { table.primaryKey[$0] < table.primaryKey[$1] }
            let keyMatch = key.map { "\(quoted(columns[$0])) = ?" }.joined(separator: " AND ")
            let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
            for change in table.changes {
                switch change {
                case .insert(let row):
                    let values = try row.map { value in
                        guard let value else { throw malformed(table, "an insert without every value") }
                        return value
                    }
                    try db.cachedStatement(sql: "INSERT INTO \(name) VALUES (\(placeholders)) ON CONFLICT DO NOTHING").execute(arguments: StatementArguments(values))
                    if db.changesCount == 0 {
                        conflicts += 1
                        try db.cachedStatement(sql: "INSERT OR REPLACE INTO \(name) VALUES (\(placeholders))").execute(arguments: StatementArguments(values))
                    }
                case .delete(let row):
                    try db.cachedStatement(sql: "DELETE FROM \(name) WHERE \(keyMatch)").execute(arguments: StatementArguments(try keyValues(key, of: row, table)))
                    if db.changesCount == 0 { conflicts += 1 }
                case .update(let old, let new):
                    let changed = new.indices.filter { new[$0] != nil && table.primaryKey[$0] == 0 }
                    guard !changed.isEmpty else { continue }
                    let assignments = changed.map { "\(quoted(columns[$0])) = ?" }.joined(separator: ", ")
                    let values = changed.map { new[$0]! } + (try keyValues(key, of: old, table))
                    try db.cachedStatement(sql: "UPDATE \(name) SET \(assignments) WHERE \(keyMatch)").execute(arguments: StatementArguments(values))
                    if db.changesCount == 0 { conflicts += 1 }
                }
            }
        }
        return conflicts
    }

    /// The table's column names, in order, once it is known to be a
    /// replicated table with the changeset's columns and primary key.
    private static func columnNames(of table: Changeset.TableChanges, in db: Database, schemas: inout [String: TableSchema]) throws -> [String] {
        guard !table.name.hasPrefix("sqlite_"), !table.name.hasPrefix(ChangeRecording.localTablePrefix) else {
            throw malformed(table, "it is not a replicated table")
        }
        let schema: TableSchema
        if let known = schemas[table.name] {
            schema = known
        } else {
            let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid"), arguments: [table.name])
            guard !rows.isEmpty else { throw malformed(table, "no such table") }
            schema = TableSchema(columns: rows.map { $0[0] as String }, primaryKey: rows.map { $0[1] as Int })
            schemas[table.name] = schema
        }
        guard schema.primaryKey == table.primaryKey else {
            throw malformed(table, "the table has other columns or another primary key")
        }
        return schema.columns
    }

    /// A table's column names in order, and each one's place in its primary key (0: not in it).
    struct TableSchema: Sendable {
        let columns: [String]
        let primaryKey: [Int]
    }

    private static func keyValues(_ key: [Int], of row: [DatabaseValue?], _ table: Changeset.TableChanges) throws -> [DatabaseValue] {
        try key.map { column in
            guard let value = row[column] else { throw malformed(table, "a change without its row's key") }
            return value
        }
    }

    private static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func malformed(_ table: Changeset.TableChanges, _ what: String) -> FSError {
        FSError(.protocolViolation, "a changeset for table \(table.name) cannot be applied: \(what)")
    }
}
