import GRDB
import TrellisFSProtocol

/// The pool of datafiles other servers made ahead of need: a new spread
/// file takes its remote datafiles from here instead of waiting on a fan-out.
extension SQLiteMetadataStore {
    public func addToPool(_ handles: [ObjectHandle]) throws {
        try write("pooling \(handles.count) datafiles") { db in
            for handle in handles {
                guard let server = handle.server else { continue }
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO datafilePool (server, handle) VALUES (?, ?)")
                    .execute(arguments: [server, Int64(bitPattern: handle.rawValue)])
            }
        }
    }

    public func takeFromPool(servers: [Int]) throws -> [ObjectHandle?] {
        try write("taking \(servers.count) pooled datafiles") { db in
            try servers.map { server in
                guard let raw = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT handle FROM datafilePool WHERE server = ? LIMIT 1"), arguments: [server])
                else { return nil }
                try db.cachedStatement(sql: "DELETE FROM datafilePool WHERE server = ? AND handle = ?").execute(arguments: [server, raw])
                return ObjectHandle(rawValue: UInt64(bitPattern: raw))
            }
        }
    }

    public func pooledDatafiles() throws -> [ObjectHandle] {
        try read("listing pooled datafiles") { db in
            try Int64.fetchAll(db, sql: "SELECT handle FROM datafilePool ORDER BY server, handle").map { ObjectHandle(rawValue: UInt64(bitPattern: $0)) }
        }
    }
}
