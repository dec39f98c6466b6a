import Foundation
import GRDB
import TrellisFSProtocol

/// The replies a server keeps so that a request sent again (after a lost
/// reply, a lost connection or a failover) is answered as the first time
/// rather than done twice: Lustre keeps the last reply per client in
/// `last_rcvd`, NFSv4.1 one per session slot, Viewstamped Replication a
/// client table. A client resends only while it waits, so only its recent
/// replies matter: a client's replies older than `window` request ids
/// behind its newest are dropped (at the latest `trimmedEvery` of its
/// records later), and so are all of a client silent for `idleSeconds`.
public enum RecordedReplies {
    /// How far behind a client's newest request a recorded reply is still kept.
    public static let window: UInt64 = 4096
    /// Records between two drops of the replies that fell out of the window.
    /// One drop per record rewrote two more pages in every commit (the
    /// oldest reply's and its time's in the index), on every copy: with
    /// one in 64, and creates that leave the serial counter alone, creates
    /// with two copies in one shared directory went from a median of 3,694
    /// to 4,221/s (ten alternating pairs, decision record 0009).
    public static let trimmedEvery = 64
    /// Clients whose records are counted for `trimmedEvery` at once.
    static let countedClients = 4096
    /// How long a silent client's replies are kept.
    public static let idleSeconds: Int64 = 24 * 3600
}

extension SQLiteMetadataStore {
    public func recordedReply(client: UInt64, request: UInt64) throws -> [UInt8]? {
        try read("finding the reply to request \(request) of client \(client)") { db in
            try Data.fetchOne(
                db.cachedStatement(sql: "SELECT body FROM reply WHERE client = ? AND request = ?"),
                arguments: [Int64(bitPattern: client), Int64(bitPattern: request)]).map { [UInt8]($0) }
        }
    }

    public func recordReply(_ reply: [UInt8], client: UInt64, request: UInt64, at time: Timestamp) throws {
        try write("recording the reply to request \(request) of client \(client)") { db in
            let client = Int64(bitPattern: client)
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO reply (client, request, time, body) VALUES (?, ?, ?, ?)")
                .execute(arguments: [client, Int64(bitPattern: request), time.seconds, Data(reply)])
            // Counted here, and per client, not by request id: a server may see only some of a
            // client's ids (odd ones, say), and clients in step would share one count's turns.
            let recorded = repliesRecorded.add(1, ordering: .relaxed).newValue
            let trims = request > RecordedReplies.window && repliesSinceTrim.withLock { counts in
                // Counts of clients long gone are not kept for ever: all start again.
                if counts.count > RecordedReplies.countedClients { counts.removeAll() }
                counts[client, default: 0] += 1
                guard counts[client]! >= RecordedReplies.trimmedEvery else { return false }
                counts[client] = 0
                return true
            }
            if trims {
                try db.cachedStatement(sql: "DELETE FROM reply WHERE client = ? AND request < ?")
                    .execute(arguments: [client, Int64(bitPattern: request - RecordedReplies.window)])
            }
            // Now and then, not on every record: the replies of clients gone silent.
            if recorded % 256 == 0 {
                try db.cachedStatement(sql: "DELETE FROM reply WHERE time < ?").execute(arguments: [time.seconds - RecordedReplies.idleSeconds])
            }
        }
    }
}
