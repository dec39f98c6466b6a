import Foundation
import Glibc
import NIOCore
import TrellisCore
import TrellisFSConnection
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

/// A primary bringing one copy of its group up to date and taking it back.
/// It sends the copy's log of missed changes when the log holds all the copy
/// lacks (the rows of each commit, then every changed bstream whole); else
/// everything: a snapshot of the rows, then every bstream. Changes made
/// meanwhile go to the copy's log, which is sent in rounds until little is
/// left; the rest goes with every change held back, and a vote of the
/// servers adds the copy to the group (GlusterFS's self-heal and BeeGFS's
/// buddy resync do the same work with a change log and a full walk).
struct Resync {
    let group: Int
    let member: Int
    let handler: RequestHandler
    let replicator: Replicator
    let replication: ReplicationContext
    let update: ResyncUpdate
    /// The largest piece one request carries.
    static let pieceBytes = 4 << 20
    /// Rounds of the log before the rest is sent with changes held back.
    static let rounds = 8
    /// A log this short is sent with changes held back.
    static let shortLog = 64

    private var metadata: any MetadataStore { handler.context.metadata }
    private var bstreams: BstreamStore { handler.context.bstreams }

    /// Runs the resync; what fails is logged, and the copy asks again.
    func run() {
        let line = replication.line(toCopyOf: group, on: member)
        defer { line.drop() }
        let started = MonotonicClock.nanoseconds()
        do {
            let full = !replicator.hasCompleteLog(of: member)
            update { $0.full = full }
            let epoch = replication.epochs.entry(group)?.epoch ?? 0
            try send(BeginResync(group: UInt32(group), epoch: epoch, full: full), on: line)
            if full { try sendEverything(on: line) }
            for _ in 0..<Self.rounds {
                let missed = try replicator.takeMissed(of: member)
                do {
                    try send(missed, on: line)
                } catch {
                    replicator.giveUpLog(of: member)
                    throw error
                }
                if missed.count <= Self.shortLog { break }
            }
            var admitted: (epoch: UInt64, members: [Int])?
            try replicator.admit(member) { rest in
                try send(rest, on: line)
                let members = (replication.epochs.entry(group)?.members ?? [replication.server]) + [member]
                switch replication.elect(group, members: members, dropping: []) {
                case .won(let epoch, let votes):
                    admitted = (epoch, members)
                    handler.context.log("group \(group): epoch \(epoch), members \(members): server \(member)'s copy is resynced and back (\(votes) of \(replication.serverCount) servers agreed)")
                case .lost(let reason):
                    throw FSError(.serverUnavailable, "server \(member)'s copy is resynced but not taken back: \(reason)")
                case .superseded(let view):
                    throw FSError(.notPrimary, "server \(member)'s copy is resynced but group \(group) is at epoch \(view.epoch) already")
                }
            }
            // Told once commits go on again: a server may be waiting on this one to answer it.
            if let admitted { replication.announce(group, epoch: admitted.epoch, members: admitted.members) }
            let seconds = Double(MonotonicClock.nanoseconds() &- started) / 1e9
            update { progress in
                handler.context.log(
                    "group \(group): resynced server \(member)'s copy \(full ? "in full" : "from its log"): \(progress.sentObjects) objects, \(progress.sentBytes) bytes in \(String(format: "%.2f", seconds)) s")
            }
        } catch {
            handler.context.log("group \(group): the resync of server \(member)'s copy stopped: \((error as? FSError)?.message ?? "\(error)")")
        }
    }

    /// A snapshot of the rows, taken as the copy's log begins, then every bstream as it is now.
    private func sendEverything(on line: ServerConnection) throws {
        let snapshot = metadata.path + ".resync-\(member)"
        defer { try? FileManager.default.removeItem(atPath: snapshot) }
        try metadata.snapshot(to: snapshot) { replicator.beginLog(of: member) }
        let rows = try Data(contentsOf: URL(fileURLWithPath: snapshot))
        let datafiles = try bstreams.storedDatafiles()
        let sizes = try datafiles.map { try bstreams.size(datafile: $0) }
        update { progress in
            progress.totalBytes = UInt64(rows.count) + sizes.reduce(0, +)
            progress.totalObjects = 1 + UInt64(datafiles.count)
        }
        var offset = 0
        repeat {
            let piece = rows[rows.startIndex + offset ..< rows.startIndex + min(rows.count, offset + Self.pieceBytes)]
            try send(ResyncMetadata(group: UInt32(group), offset: UInt64(offset), total: UInt64(rows.count), bytes: ByteBuffer(bytes: piece)), on: line)
            offset += piece.count
            sent(bytes: piece.count, objects: offset == rows.count ? 1 : 0)
        } while offset < rows.count
        for datafile in datafiles { try sendBstream(datafile, on: line) }
        replicator.markCoversEverythingBefore(of: member)
    }

    /// What a log holds: the rows of each commit in order, then each bstream named, whole.
    private func send(_ missed: MissedChanges, on line: ServerConnection) throws {
        update { progress in
            progress.totalObjects += UInt64(missed.count)
            progress.totalBytes += UInt64(missed.rows.reduce(0) { $0 + $1.bytes.count })
        }
        for changes in missed.rows {
            try send(ApplyChanges(group: UInt32(group), changeset: ByteBuffer(bytes: changes.bytes)), on: line)
            sent(bytes: changes.bytes.count, objects: 1)
        }
        // No metadata is read here: the last of the log goes out while commits wait, holding the database.
        for datafile in missed.bstreams.sorted(by: { $0.rawValue < $1.rawValue }) {
            if bstreams.lastChange(datafile: datafile) != nil {
                let size = try bstreams.size(datafile: datafile)
                update { $0.totalBytes += size }
                try sendBstream(datafile, on: line)
            } else {
                try send(DropBstreams([datafile]), on: line)
                sent(bytes: 0, objects: 1)
            }
        }
    }

    /// One bstream, whole: its length, then its bytes in pieces. A datafile
    /// removed since (the copy's rows no longer have it) is skipped: its
    /// removal is in the log.
    private func sendBstream(_ datafile: ObjectHandle, on line: ServerConnection) throws {
        do {
            let size = try bstreams.size(datafile: datafile)
            try send(TruncateDatafile(datafile, size: size), on: line)
            var offset: UInt64 = 0
            repeat {
                let length = min(UInt64(Self.pieceBytes), size - offset)
                let region = AccessPattern.Region(offset: offset, length: length)
                var bytes = try bstreams.read(datafile: datafile, regions: length == 0 ? [] : [region], maximumBytes: Self.pieceBytes)
                // Shortened meanwhile: the zeros a read leaves out stand for it until the log's truncate comes.
                bytes.writeRepeatingByte(0, count: Int(length) - bytes.readableBytes)
                // An empty write makes an empty bstream, as the primary has one.
                try send(WriteData(datafile: datafile, regions: length == 0 ? [] : [region], data: bytes), on: line)
                offset += length
                sent(bytes: Int(length), objects: 0)
            } while offset < size
        } catch let error as FSError where error.code == .staleHandle {
            // Removed meanwhile: the log has its removal.
        }
        sent(bytes: 0, objects: 1)
    }

    private func send<Operation: FSOperation>(_ operation: Operation, on line: ServerConnection) throws {
        do {
            _ = try line.call(operation, credentials: Replicator.credentials, deadline: .after(seconds: 4 * replication.changeSeconds))
        } catch let error as FSError where error.code != .staleHandle {
            throw FSError(error.code, "server \(member)'s copy of group \(group) did not take \(Operation.name): \(error.message)")
        }
    }

    /// Counts what was sent, and holds the resync to its rate.
    private func sent(bytes: Int, objects: Int) {
        update { progress in
            progress.sentBytes += UInt64(bytes)
            progress.sentObjects += UInt64(objects)
        }
        guard let rate = replication.resyncBytesPerSecond, rate > 0, bytes > 0 else { return }
        usleep(useconds_t(min(Double(bytes) / rate, 10) * 1e6))
    }
}
