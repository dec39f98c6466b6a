import Glibc
import Foundation
import TrellisFSProtocol
import TrellisFSStorage

/// One server's storage folder: `metadata.sqlite` and `bstreams/` of the
/// objects it is primary of, and under `replicas/GROUP/` the same for each
/// replica group it keeps a copy of. `mkfs` prepares it; a server refuses a
/// folder that was not prepared, or was prepared for another file system or
/// index.
public enum ServerStorage {
    static let markerName = "trellis-fs-server"
    /// Present while a server is stopped after passing every change on to
    /// its secondaries (and after `mkfs`): a primary that starts without it
    /// crashed, and hands its groups over rather than serve at its old epoch.
    static let stoppedCleanlyName = "stopped-cleanly"

    /// Present from `mkfs` until every copy of the server has served in its
    /// group: a server whose storage was made anew (a disk replaced) first
    /// waits out its old copies' membership (`FileSystemServer`), and its
    /// copies ask for a full resync, whatever their primaries logged.
    static let madeAnewName = "made-anew"

    /// Whether server `index`'s storage was made anew and has not served in every group since.
    static func isMadeAnew(_ configuration: FileSystemConfiguration, server index: Int) -> Bool {
        FileManager.default.fileExists(atPath: configuration.servers[index].storage + "/" + madeAnewName)
    }

    /// Every copy serves in its group: the storage is no longer new.
    static func clearMadeAnew(_ configuration: FileSystemConfiguration, server index: Int) {
        try? FileManager.default.removeItem(atPath: configuration.servers[index].storage + "/" + madeAnewName)
    }

    /// Takes away the mark of a clean stop, durably, before anything is served; whether it was there.
    static func takeCleanStopMark(_ configuration: FileSystemConfiguration, server index: Int) -> Bool {
        let folder = configuration.servers[index].storage
        guard unlink(folder + "/" + stoppedCleanlyName) == 0 else { return false }
        syncFolder(folder)
        return true
    }

    /// Marks a clean stop (every change passed on).
    static func markCleanStop(_ configuration: FileSystemConfiguration, server index: Int) {
        let folder = configuration.servers[index].storage
        if FileManager.default.createFile(atPath: folder + "/" + stoppedCleanlyName, contents: nil) { syncFolder(folder) }
    }

    /// fsync of a folder, so a file made or removed in it stays so through a crash.
    static func syncFolder(_ folder: String) {
        let descriptor = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
    /// 2: datafiles are objects with handles (decision 0003).
    static let storageFormat = 2

    static func markerText(_ configuration: FileSystemConfiguration, _ index: Int) -> String {
        // The data groups are named too: a server must not start on storage made without them, nor with more.
        let dataGroups = configuration.dataReplicas.isEmpty ? "" : " data_replicas \(configuration.dataReplicas.map(String.init).joined(separator: ","))"
        return "\(configuration.name) \(index) format \(storageFormat)\(dataGroups)\n"
    }

    /// The folder of server `index`'s copy of replica group `group`.
    public static func folder(_ configuration: FileSystemConfiguration, server index: Int, group: Int) -> String {
        let folder = configuration.servers[index].storage
        return group == index ? folder : "\(folder)/replicas/\(group)"
    }

    /// Prepares server `index`'s folder, with a copy of each replica group
    /// it is a member of; every copy of group 0 gets the root directory,
    /// made at `rootTime` (the same for all when one `mkfs` makes them all).
    public static func make(
        _ configuration: FileSystemConfiguration, server index: Int, rootOwner: Credentials = Credentials(uid: 0, gid: 0), rootTime: Timestamp = .now()
    ) throws {
        let folder = configuration.servers[index].storage
        let marker = folder + "/" + markerName
        if FileManager.default.fileExists(atPath: marker) {
            throw FSError(.exists, "server \(index)'s storage folder \(folder) is already prepared; remove it first to make a new file system")
        }
        for (group, _) in try configuration.placement().groups(of: index) {
            let copy = Self.folder(configuration, server: index, group: group)
            do {
                try FileManager.default.createDirectory(atPath: copy + "/bstreams", withIntermediateDirectories: true)
            } catch {
                throw FSError(.ioError, "cannot make server \(index)'s storage folder \(copy): \(error.localizedDescription)")
            }
            let metadata = try SQLiteMetadataStore(path: copy + "/metadata.sqlite", serverIndex: group)
            if group == 0 {
                _ = try metadata.createObject(
                    NewObject(kind: .directory, mode: 0o1777, uid: rootOwner.uid, gid: rootOwner.gid, time: rootTime), handle: .root)
            }
        }
        do {
            try markerText(configuration, index).write(toFile: marker, atomically: true, encoding: .utf8)
        } catch {
            throw FSError(.ioError, "cannot write \(marker): \(error.localizedDescription)")
        }
        markCleanStop(configuration, server: index)
        // Without the mark a new disk would not wait out its old copies' failover.
        guard FileManager.default.createFile(atPath: folder + "/" + madeAnewName, contents: nil) else {
            throw FSError(.ioError, "cannot write \(folder)/\(madeAnewName), which marks server \(index)'s storage as new")
        }
    }

    /// Opens server `index`'s stores of replica group `group` (its own
    /// objects by default), checking the folder was prepared for it; the
    /// metadata store syncs every commit unless `durability` counts on the
    /// replicas, and hands its changes to `committed` when given.
    public static func open(
        _ configuration: FileSystemConfiguration, server index: Int, group: Int? = nil,
        committed: (@Sendable (Changeset) -> Void)? = nil, recordsChanges: @escaping @Sendable () -> Bool = { true }
    ) throws -> (metadata: SQLiteMetadataStore, bstreams: BstreamStore) {
        let folder = configuration.servers[index].storage
        let marker = folder + "/" + markerName
        guard let text = try? String(contentsOfFile: marker, encoding: .utf8) else {
            throw FSError(.notFound, "server \(index)'s storage folder \(folder) is not prepared: run `trellis mkfs` first")
        }
        if text == "\(configuration.name) \(index)\n" {
            throw FSError(.invalidArgument, "\(folder) was made by an older Trellis (storage format 1, not \(storageFormat)): make the file system again with `trellis mkfs`")
        }
        guard text == markerText(configuration, index) else {
            throw FSError(.invalidArgument, "\(folder) holds '\(text.trimmingCharacters(in: .whitespacesAndNewlines))', not file system \(configuration.name) server \(index)")
        }
        let group = group ?? index
        let copy = Self.folder(configuration, server: index, group: group)
        guard FileManager.default.fileExists(atPath: copy + "/metadata.sqlite") else {
            throw FSError(.notFound, "server \(index) has no copy of replica group \(group) in \(copy): the file system was made with other replicas")
        }
        return (
            try SQLiteMetadataStore(
                path: copy + "/metadata.sqlite", serverIndex: group, reservePath: copy + "/metadata.reserve",
                // A group of one copy has only its disk to keep a change through a crash.
                syncsEveryCommit: configuration.durability == .fsync || (try configuration.placement()).copies(ofGroup: group) == 1, committed: committed,
                recordsChanges: recordsChanges),
            try BstreamStore(folder: copy + "/bstreams")
        )
    }
}
