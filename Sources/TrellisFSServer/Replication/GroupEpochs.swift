import Foundation
import Synchronization
import TrellisFSProtocol
import TrellisFSStorage

/// What one server knows of every replica group it takes part in: each
/// group's epoch and its members then (the primary first), and the highest
/// epoch it has promised its vote for. Kept in a file of the server's own,
/// synced before a vote is answered, so a server that restarts never votes
/// twice in one epoch (the rule that keeps two sides of a cut network from
/// both changing a group).
public final class GroupEpochs: Sendable {
    /// One group as this server knows it.
    public struct Entry: Codable, Sendable, Equatable {
        /// The group's epoch.
        public var epoch: UInt64
        /// Its members in that epoch, the primary first.
        public var members: [Int]
        /// The highest epoch this server has voted for.
        public var promised: UInt64

        /// A group at `epoch` with `members`, votes promised up to `promised`.
        public init(epoch: UInt64, members: [Int], promised: UInt64) {
            self.epoch = epoch
            self.members = members
            self.promised = promised
        }
    }

    /// The most a vote may move a group's epoch past what a server knows
    /// (a few failed elections), so that no request can push it out of reach.
    public static let largestStep: UInt64 = 64

    private let path: String
    private let entries: Mutex<[Int: Entry]>
    /// Space held back so that a server whose disk is full can still promise
    /// a vote (a secondary that cannot store its primary's changes asks for
    /// one to leave its group). Guarded by `entries`' lock.
    private let reserve: SpaceReserve

    /// The epochs kept at `path`; a group not there is at epoch 0 with its placed members.
    public init(path: String, placement: ReplicaPlacement) throws {
        self.path = path
        var known: [Int: Entry] = [:]
        for (group, members) in placement.members.enumerated() { known[group] = Entry(epoch: 0, members: members, promised: 0) }
        if let data = FileManager.default.contents(atPath: path) {
            do {
                let stored = try JSONDecoder().decode([String: Entry].self, from: data)
                for (key, entry) in stored { if let group = Int(key) { known[group] = entry } }
            } catch {
                throw FSError(.ioError, "\(path) does not hold replica-group epochs: \(error)")
            }
        }
        entries = Mutex(known)
        reserve = SpaceReserve(path: path + ".reserve", bytes: 256 << 10)
        reserve.refill()
    }

    /// Group `group` as this server knows it.
    public func entry(_ group: Int) -> Entry? { entries.withLock { $0[group] } }

    /// The view a `GetGroupView` answers with.
    public func view(_ group: Int, granted: Bool = false) -> GroupView {
        let entry = self.entry(group)
        return GroupView(epoch: entry?.epoch ?? 0, members: entry?.members.map { UInt32($0) } ?? [], granted: granted)
    }

    /// Promises this server's vote for `epoch` of `group` when it has promised
    /// no epoch as high and the group is not already there; the promise is on
    /// disk before this returns true.
    public func promise(_ group: Int, epoch: UInt64) throws -> Bool {
        try update { entries in
            guard var entry = entries[group], epoch > entry.epoch, epoch > entry.promised else { return false }
            entry.promised = epoch
            entries[group] = entry
            return true
        }
    }

    /// Records that `group` has `members` from `epoch` on (a newer epoch only).
    @discardableResult
    public func record(_ group: Int, epoch: UInt64, members: [Int]) throws -> Bool {
        try update { entries in
            guard var entry = entries[group], epoch > entry.epoch else { return false }
            entry.epoch = epoch
            entry.members = members
            entry.promised = max(entry.promised, epoch)
            entries[group] = entry
            return true
        }
    }

    private func update(_ change: (inout [Int: Entry]) -> Bool) throws -> Bool {
        try entries.withLock { entries in
            var next = entries
            guard change(&next) else { return false }
            do {
                try Self.write(next, to: path)
            } catch where reserve.release() {
                // The disk is full: the reserve makes room for this one change.
                try Self.write(next, to: path)
            }
            reserve.refillIfMissing()
            entries = next
            return true
        }
    }

    private static func write(_ entries: [Int: Entry], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(Dictionary(uniqueKeysWithValues: entries.map { (String($0.key), $0.value) }))
        let temporary = path + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw FSError(.ioError, "cannot write replica-group epochs to \(temporary)")
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: temporary))
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else { throw FSError(.ioError, "cannot replace \(path): \(String(cString: strerror(errno)))") }
    }
}
