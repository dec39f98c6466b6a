import Foundation
import GRDB
import TrellisFSProtocol

/// Whole-database copies, for a replica that must be brought up to date
/// from scratch: the primary writes a snapshot of its rows, the copy
/// replaces its own rows with the snapshot's.
extension SQLiteMetadataStore {
    /// Writes a consistent copy of the database to `path` (SQLite's
    /// `VACUUM INTO`), calling `atSnapshot` first while no commit can run,
    /// so that whatever `atSnapshot` starts sees every commit after the
    /// snapshot and none before.
    public func snapshot(to path: String, atSnapshot: () -> Void) throws {
        try? FileManager.default.removeItem(atPath: path)
        try withConnection("writing a snapshot to \(path)") { db in
            atSnapshot()
            try db.execute(sql: "VACUUM INTO ?", arguments: [path])
        }
    }

    /// Replaces every replicated row (every table a changeset can carry)
    /// with the rows of the snapshot at `path`, in one transaction; the
    /// counts come with the snapshot's rows, so the triggers that keep them
    /// stand aside.
    public func replaceReplicatedRows(from path: String) throws {
        try withConnection("replacing the rows with the snapshot \(path)") { db in
            try db.execute(sql: "ATTACH DATABASE ? AS incoming", arguments: [path])
            defer { try? db.execute(sql: "DETACH DATABASE incoming") }
            let tables = try Self.replicatedTables(db)
            let incoming = Set(try String.fetchAll(db, sql: "SELECT name FROM incoming.sqlite_master WHERE type = 'table'"))
            guard Set(tables).isSubset(of: incoming) else {
                throw FSError(.protocolViolation, "the snapshot \(path) lacks the tables \(Set(tables).subtracting(incoming).sorted())")
            }
            try whileApplying {
                try db.inTransaction(.immediate) {
                    for table in tables {
                        try db.execute(sql: "DELETE FROM main.\"\(table)\"")
                        try db.execute(sql: "INSERT INTO main.\"\(table)\" SELECT * FROM incoming.\"\(table)\"")
                    }
                    return .commit
                }
            }
        }
    }

    /// The tables a changeset carries, by name.
    static func replicatedTables(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'grdb%'
                AND name NOT LIKE '\(ChangeRecording.localTablePrefix)%' ORDER BY name
            """)
    }
}
