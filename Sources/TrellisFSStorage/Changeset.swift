import CSQLiteChanges
import Foundation
import GRDB
import TrellisFSProtocol

/// What one commit of a metadata database changed, row by row: an SQLite
/// changeset (the session extension's format), which a replica applies to
/// end with the same rows. Shipping rows rather than operations keeps a
/// replica byte-for-byte equal to its primary even where an operation's
/// outcome depended on the clock, on handles it made, or on other servers.
public struct Changeset: Sendable, Equatable {
    /// The changeset's bytes, in the session extension's format.
    public var bytes: Data

    /// A changeset as recorded, or as received from a primary.
    public init(bytes: Data) { self.bytes = bytes }

    /// Whether it changes nothing.
    public var isEmpty: Bool { bytes.isEmpty }
}

/// Records the rows a connection changes (in every table but the store's own
/// bookkeeping, whose names start with `localTablePrefix`), from `begin`
/// until `changes()`, as a changeset. It is installed once on the
/// connection (SQLite's pre-update hook hands it each row's old and new
/// values); the session extension, which read each table's columns and
/// prepared a statement per table on every commit, cost more than the rows.
/// Used only on the connection's own queue.
final class ChangeRecording: @unchecked Sendable {
    /// Tables whose rows stay with the database that holds them (a replica
    /// keeps its own record of what it applied).
    static let localTablePrefix = "local"

    private let log: UnsafeMutableRawPointer

    /// Installs the recording on `db`, for the replicated tables as they are now.
    init(_ db: Database) throws {
        var log: UnsafeMutableRawPointer?
        let code = trellis_log_open(UnsafeMutableRawPointer(db.sqliteConnection), Self.localTablePrefix, &log)
        guard code == ResultCode.SQLITE_OK.rawValue, let log else {
            throw FSError(.ioError, "recording metadata changes: \(Self.describe(code))")
        }
        self.log = log
        for table in try SQLiteMetadataStore.replicatedTables(db) {
            let places = try Int.fetchAll(db, sql: "SELECT pk FROM pragma_table_info(?) ORDER BY cid", arguments: [table])
            let added = trellis_log_add_table(log, table, Int32(places.count), places.map { UInt8(clamping: $0) })
            guard added == ResultCode.SQLITE_OK.rawValue else {
                throw FSError(.ioError, "recording metadata changes of table \(table): \(Self.describe(added))")
            }
        }
    }

    /// Empties the record and records every change from now on.
    func begin() { trellis_log_begin(log) }

    /// Where the record ends now, to go back to when a savepoint rolls back.
    var mark: Int { trellis_log_mark(log) }

    /// Forgets what was recorded after `mark` (its savepoint was rolled back).
    func rollBack(to mark: Int) { trellis_log_truncate(log, mark) }

    /// The changes since `begin`, in the order made; recording stops.
    func changes() throws -> Changeset {
        var size = 0
        var bytes: UnsafeRawPointer?
        let code = trellis_log_take(log, &size, &bytes)
        guard code == ResultCode.SQLITE_OK.rawValue else { throw FSError(.ioError, "recording metadata changes: \(Self.describe(code))") }
        guard let bytes, size > 0 else { return Changeset(bytes: Data()) }
        return Changeset(bytes: Data(bytes: bytes, count: size))
    }

    /// Stops recording, keeping nothing.
    func stop() {
        var size = 0
        var bytes: UnsafeRawPointer?
        _ = trellis_log_take(log, &size, &bytes)
    }

    /// Removes the recording from its connection (on the connection's queue, while it is open).
    func close() { trellis_log_close(log) }

    private static func describe(_ code: Int32) -> String {
        "SQLite error \(ResultCode(rawValue: code))"
    }

    /// Applies `changeset` in the connection's open transaction; returns
    /// the rows that were not as the changeset expected (they now are).
    static func apply(_ changeset: Changeset, to db: Database, schemas: inout [String: ChangesetApplier.TableSchema]) throws -> [RowConflict] {
        try ChangesetApplier.apply(changeset.decoded(), to: db, schemas: &schemas)
    }
}

extension Changeset {
    /// One table's part of a changeset: its name, how many columns it has,
    /// each column's place in the primary key (from 1; 0 when not in it),
    /// and its changes in order.
    struct TableChanges {
        let name: String
        let primaryKey: [Int]
        var changes: [Change] = []
    }

    /// One row's change: an insert carries the new row, a delete the old
    /// one, an update the old key (and old values) and the new values of
    /// the columns it changed; nil marks a value the change does not carry.
    enum Change {
        case insert([DatabaseValue?])
        case delete([DatabaseValue?])
        case update(old: [DatabaseValue?], new: [DatabaseValue?])
    }

    /// The changes the bytes hold, after checking their structure (tables,
    /// then changes whose values fit inside the bytes): SQLite 3.40's own
    /// reader can loop forever on some malformed changesets, and a replica
    /// must refuse bytes that a broken or hostile sender made. The format is
    /// the session extension's ("changeset format" in sqlite3session.h): a
    /// table header `T`, the column count, a primary-key flag per column and
    /// the table's name; then its changes, each an operation, an indirect
    /// flag and one record (insert, delete) or two (update) of typed values.
    func decoded() throws -> [TableChanges] {
        var reader = ChangesetReader(bytes: bytes)
        var tables: [TableChanges] = []
        while !reader.isAtEnd {
            let marker = try reader.byte()
            switch marker {
            case 0x54:
                let columns = try reader.varint()
                guard (1 ... 256).contains(columns) else { throw reader.malformed("a table of \(columns) columns") }
                let primaryKey = try (0 ..< columns).map { _ in
                    let place = Int(try reader.byte())
                    guard place <= columns else { throw reader.malformed("a primary-key place past the columns") }
                    return place
                }
                guard primaryKey.contains(where: { $0 > 0 }) else { throw reader.malformed("a table without a primary key") }
                tables.append(TableChanges(name: try reader.name(), primaryKey: primaryKey))
            case 18, 9, 23:
                guard let columns = tables.last?.primaryKey.count else { throw reader.malformed("a change before any table") }
                guard try reader.byte() <= 1 else { throw reader.malformed("an indirect flag other than 0 or 1") }
                let first = try reader.record(columns: columns)
                switch marker {
                case 18: tables[tables.count - 1].changes.append(.insert(first))
                case 9: tables[tables.count - 1].changes.append(.delete(first))
                default: tables[tables.count - 1].changes.append(.update(old: first, new: try reader.record(columns: columns)))
                }
            default:
                throw reader.malformed("unknown marker \(marker)")
            }
        }
        return tables
    }
}

/// Reads a changeset's bytes for `Changeset.decoded`, never past their end.
/// It works on a copy in an array, indexed directly: reading through `Data`
/// and its slices was a third of what a replica spent applying a changeset.
private struct ChangesetReader {
    let bytes: [UInt8]
    var position = 0

    init(bytes: Data) { self.bytes = [UInt8](bytes) }

    var isAtEnd: Bool { position >= bytes.count }

    func malformed(_ what: String) -> FSError {
        FSError(.protocolViolation, "a changeset of \(bytes.count) bytes is malformed at byte \(position): \(what)")
    }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw malformed("it ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    /// SQLite's varint: big-endian groups of 7 bits, at most 9 bytes.
    mutating func varint() throws -> Int {
        var value: UInt64 = 0
        for index in 0 ..< 9 {
            let next = try byte()
            if index == 8 { return Int(truncatingIfNeeded: value << 8 | UInt64(next)) }
            value = value << 7 | UInt64(next & 0x7f)
            if next & 0x80 == 0 { break }
        }
        guard value <= UInt64(bytes.count) else { throw malformed("a length of \(value)") }
        return Int(value)
    }

    mutating func name() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0) else { throw malformed("a table name without its end") }
        guard end > position else { throw malformed("an empty table name") }
        defer { position = end + 1 }
        return String(decoding: bytes[position ..< end], as: UTF8.self)
    }

    /// One record's values: SQLite's serial types 0 (not carried), 1
    /// (64-bit integer), 2 (double), 3 (text), 4 (blob) and 5 (null), the
    /// numbers big-endian.
    mutating func record(columns: Int) throws -> [DatabaseValue?] {
        var values: [DatabaseValue?] = []
        values.reserveCapacity(columns)
        for _ in 0 ..< columns {
            switch try byte() {
            case 0: values.append(nil)
            case 5: values.append(DatabaseValue.null)
            case 1: values.append(Int64(bitPattern: try bigEndian()).databaseValue)
            case 2: values.append(Double(bitPattern: try bigEndian()).databaseValue)
            case 3:
                let range = try take(try varint())
                values.append(String(decoding: bytes[range], as: UTF8.self).databaseValue)
            case 4: values.append(Data(bytes[try take(try varint())]).databaseValue)
            case let type: throw malformed("a value of unknown type \(type)")
            }
        }
        return values
    }

    private mutating func bigEndian() throws -> UInt64 {
        var value: UInt64 = 0
        for index in try take(8) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    /// The positions of the next `count` bytes, which the reader moves past.
    private mutating func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, bytes.count - position >= count else { throw malformed("a value of \(count) bytes runs past the end") }
        defer { position += count }
        return position ..< position + count
    }
}
