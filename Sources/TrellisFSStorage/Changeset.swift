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
    /// The changeset's bytes, as `sqlite3session_changeset` made them.
    public var bytes: Data

    /// A changeset as recorded, or as received from a primary.
    public init(bytes: Data) { self.bytes = bytes }

    /// Whether it changes nothing.
    public var isEmpty: Bool { bytes.isEmpty }
}

/// Records the changes made to a database's tables through one connection
/// (all tables but the store's own bookkeeping, whose names start with
/// `localTablePrefix`), from `init` until `changes()`.
struct ChangeRecording {
    /// Tables whose rows stay with the database that holds them (a replica
    /// keeps its own record of what it applied).
    static let localTablePrefix = "local"

    private let recording: UnsafeMutableRawPointer

    init(_ db: Database) throws {
        var recording: UnsafeMutableRawPointer?
        let code = trellis_changes_begin(UnsafeMutableRawPointer(db.sqliteConnection), Self.localTablePrefix, &recording)
        guard code == ResultCode.SQLITE_OK.rawValue, let recording else {
            throw FSError(.ioError, "recording metadata changes: \(Self.describe(code))")
        }
        self.recording = recording
    }

    /// The net changes since recording began (a change undone by a rolled-back savepoint is not among them).
    func changes() throws -> Changeset {
        var size: Int32 = 0
        var bytes: UnsafeMutableRawPointer?
        let code = trellis_changes_take(recording, &size, &bytes)
        defer { trellis_changes_free(bytes) }
        guard code == ResultCode.SQLITE_OK.rawValue else { throw FSError(.ioError, "taking recorded metadata changes: \(Self.describe(code))") }
        guard let bytes, size > 0 else { return Changeset(bytes: Data()) }
        return Changeset(bytes: Data(bytes: bytes, count: Int(size)))
    }

    func end() { trellis_changes_end(recording) }

    private static func describe(_ code: Int32) -> String {
        "SQLite error \(ResultCode(rawValue: code))"
    }

    /// Applies `changeset` in the connection's open transaction; returns
    /// how many rows were not as the changeset expected (they now are).
    static func apply(_ changeset: Changeset, to db: Database) throws -> Int {
        try changeset.validate()
        var conflicts: Int32 = 0
        let code = changeset.bytes.withUnsafeBytes { bytes in
            trellis_changes_apply(UnsafeMutableRawPointer(db.sqliteConnection), bytes.baseAddress, Int32(bytes.count), &conflicts)
        }
        guard code == ResultCode.SQLITE_OK.rawValue else {
            throw FSError(.ioError, "applying a metadata changeset of \(changeset.bytes.count) bytes: \(describe(code))")
        }
        return Int(conflicts)
    }
}

extension Changeset {
    /// Checks that the bytes have the changeset format's structure (tables,
    /// then changes whose values fit inside the bytes) before SQLite reads
    /// them: SQLite 3.40's reader can loop forever on some malformed ones,
    /// and a replica must refuse bytes that a broken or hostile sender made.
    /// The format is the session extension's ("changeset format" in
    /// sqlite3session.h): a table header `T`, the column count, a primary-key
    /// flag per column and the table's name; then its changes, each an
    /// operation, an indirect flag and one record (insert, delete) or two
    /// (update) of typed values.
    func validate() throws {
        var reader = ChangesetReader(bytes: bytes)
        var columns = 0
        while !reader.isAtEnd {
            let marker = try reader.byte()
            switch marker {
            case 0x54:
                columns = try reader.varint()
                guard (1 ... 256).contains(columns) else { throw reader.malformed("a table of \(columns) columns") }
                // Each column's place in the primary key (from 1), or 0.
                for _ in 0 ..< columns { guard try reader.byte() <= columns else { throw reader.malformed("a primary-key place past the columns") } }
                try reader.skipName()
            case 18, 9, 23:
                guard columns > 0 else { throw reader.malformed("a change before any table") }
                guard try reader.byte() <= 1 else { throw reader.malformed("an indirect flag other than 0 or 1") }
                for _ in 0 ..< (marker == 23 ? 2 : 1) { try reader.skipRecord(columns: columns) }
            default:
                throw reader.malformed("unknown marker \(marker)")
            }
        }
    }
}

/// Reads a changeset's bytes for `Changeset.validate`, never past their end.
private struct ChangesetReader {
    let bytes: Data
    var position: Int

    init(bytes: Data) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    var isAtEnd: Bool { position >= bytes.endIndex }

    func malformed(_ what: String) -> FSError {
        FSError(.protocolViolation, "a changeset of \(bytes.count) bytes is malformed at byte \(position - bytes.startIndex): \(what)")
    }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.endIndex else { throw malformed("it ends early") }
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

    mutating func skip(_ count: Int) throws {
        guard count >= 0, bytes.endIndex - position >= count else { throw malformed("a value of \(count) bytes runs past the end") }
        position += count
    }

    mutating func skipName() throws {
        guard let end = bytes[position...].firstIndex(of: 0) else { throw malformed("a table name without its end") }
        guard end > position else { throw malformed("an empty table name") }
        position = end + 1
    }

    mutating func skipRecord(columns: Int) throws {
        for _ in 0 ..< columns {
            switch try byte() {
            case 0, 5: break
            case 1, 2: try skip(8)
            case 3, 4: try skip(try varint())
            case let type: throw malformed("a value of unknown type \(type)")
            }
        }
    }
}
