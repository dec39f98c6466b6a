import Foundation
import GRDB
import GRDBSQLite
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
    /// Applies `tables` in the connection's open transaction; returns the
    /// rows that were not as the changeset expected. Throws for a table that
    /// is not one of the replicated ones, or that does not have the columns
    /// and key the changeset says; the caller's savepoint then undoes it all.
    /// `schemas` keeps each table's columns and statements' text as read
    /// from the database, so that they are made once per connection, not
    /// once per changeset.
    static func apply(_ tables: [Changeset.TableChanges], to db: Database, schemas: inout [String: TableSchema]) throws -> [RowConflict] {
        var conflicts: [RowConflict] = []
        for table in tables {
            let schema = try self.schema(of: table, in: db, schemas: &schemas)
            for change in table.changes {
                switch change {
                case .insert(let row):
                    let values = try row.map { value in
                        guard let value else { throw malformed(table, "an insert without every value") }
                        return value
                    }
                    try execute(db.cachedStatement(sql: schema.insert), values, in: db)
                    if db.changesCount == 0 {
                        conflicts.append(RowConflict(table: table.name, change: .insert, key: schema.key.map { values[$0] }))
                        try execute(db.cachedStatement(sql: schema.replace), values, in: db)
                    }
                case .delete(let row):
                    let key = try keyValues(schema.key, of: row, table)
                    try execute(db.cachedStatement(sql: schema.delete), key, in: db)
                    if db.changesCount == 0 { conflicts.append(RowConflict(table: table.name, change: .delete, key: key)) }
                case .update(let old, let new):
                    let changed = new.indices.filter { new[$0] != nil && table.primaryKey[$0] == 0 }
                    guard !changed.isEmpty else { continue }
                    let key = try keyValues(schema.key, of: old, table)
                    try execute(db.cachedStatement(sql: schema.update(of: changed)), changed.map { new[$0]! } + key, in: db)
                    if db.changesCount == 0 { conflicts.append(RowConflict(table: table.name, change: .update, key: key)) }
                }
            }
        }
        return conflicts
    }

    /// The table's schema, once it is known to be a replicated table with
    /// the changeset's columns and primary key.
    private static func schema(of table: Changeset.TableChanges, in db: Database, schemas: inout [String: TableSchema]) throws -> TableSchema {
        guard !table.name.hasPrefix("sqlite_"), !table.name.hasPrefix(ChangeRecording.localTablePrefix) else {
            throw malformed(table, "it is not a replicated table")
        }
        let schema: TableSchema
        if let known = schemas[table.name] {
            schema = known
        } else {
            let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid"), arguments: [table.name])
            guard !rows.isEmpty else { throw malformed(table, "no such table") }
            schema = TableSchema(name: table.name, columns: rows.map { $0[0] as String }, primaryKey: rows.map { $0[1] as Int })
            schemas[table.name] = schema
        }
        guard schema.primaryKey == table.primaryKey else {
            throw malformed(table, "the table has other columns or another primary key")
        }
        return schema
    }

    /// A table's columns in order, each one's place in its primary key (0:
    /// not in it), and the text of the statements that apply its changes.
    final class TableSchema: @unchecked Sendable {
        let primaryKey: [Int]
        /// The key's columns, in key order.
        let key: [Int]
        let insert: String
        let replace: String
        let delete: String
        private let name: String
        private let columns: [String]
        private let keyMatch: String
        /// Updates by the columns they set.
        private var updates: [[Int]: String] = [:]

        init(name: String, columns: [String], primaryKey: [Int]) {
            self.primaryKey = primaryKey
            self.columns = columns
            self.name = ChangesetApplier.quoted(name)
            key = primaryKey.indices.filter { primaryKey[$0] > 0 }.sorted { primaryKey[$0] < primaryKey[$1] }
            keyMatch = key.map { "\(ChangesetApplier.quoted(columns[$0])) = ?" }.joined(separator: " AND ")
            let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
            insert = "INSERT INTO \(self.name) VALUES (\(placeholders)) ON CONFLICT DO NOTHING"
            replace = "INSERT OR REPLACE INTO \(self.name) VALUES (\(placeholders))"
            delete = "DELETE FROM \(self.name) WHERE \(keyMatch)"
        }

        /// The update that sets `changed` (column positions) of the row with a given key.
        func update(of changed: [Int]) -> String {
            if let known = updates[changed] { return known }
            let assignments = changed.map { "\(ChangesetApplier.quoted(columns[$0])) = ?" }.joined(separator: ", ")
            let made = "UPDATE \(name) SET \(assignments) WHERE \(keyMatch)"
            updates[changed] = made
            return made
        }
    }

    /// Runs a prepared statement with `values` bound through SQLite's own
    /// calls: building GRDB's `StatementArguments` for every row was another
    /// third of what a replica spent applying a changeset.
    private static func execute(_ statement: Statement, _ values: [DatabaseValue], in db: Database) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        guard values.count == Int(sqlite3_bind_parameter_count(handle)) else {
            throw DatabaseError(resultCode: .SQLITE_RANGE, message: "\(values.count) values for a statement that takes \(sqlite3_bind_parameter_count(handle))", sql: statement.sql)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value.storage {
            case .null:
                code = sqlite3_bind_null(handle, index)
            case .int64(let number):
                code = sqlite3_bind_int64(handle, index, number)
            case .double(let number):
                code = sqlite3_bind_double(handle, index, number)
            case .string(var text):
                // An empty buffer may have no address, which SQLite would take for NULL. The string's own
                // UTF-8 is bound, without a copy into an array of its own for every value.
                code = text.utf8.isEmpty
                    ? sqlite3_bind_text(handle, index, "", 0, transient)
                    : text.withUTF8 { sqlite3_bind_text(handle, index, UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), Int32($0.count), transient) }
            case .blob(let data):
                code = data.isEmpty
                    ? sqlite3_bind_zeroblob(handle, index, 0)
                    : data.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
            }
            guard code == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "binding value \(index)", sql: statement.sql) }
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }

    /// SQLite copies what is bound with this destructor (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private static func keyValues(_ key: [Int], of row: [DatabaseValue?], _ table: Changeset.TableChanges) throws -> [DatabaseValue] {
        try key.map { column in
            guard let value = row[column] else { throw malformed(table, "a change without its row's key") }
            return value
        }
    }

    fileprivate static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func malformed(_ table: Changeset.TableChanges, _ what: String) -> FSError {
        FSError(.protocolViolation, "a changeset for table \(table.name) cannot be applied: \(what)")
    }
}
