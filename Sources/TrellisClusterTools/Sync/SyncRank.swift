import Glibc
import Foundation
import NIOCore
import TrellisCore
import TrellisRuntime
import TrellisFSProtocol

/// One rank's part in a sync, by mpisync's algorithm ("MPI for cluster
/// system software"): rank 0 takes the source's inventory and broadcasts
/// it; each host compares it with its destination; an allgather of every
/// host's needs tells which host needs which file; the files go, batch by
/// batch, only to the hosts that need them, by a broadcast on a
/// communicator of those hosts (split once per group); each file is renamed
/// into place the moment it is whole, with the source's metadata exactly,
/// so an interrupted sync resumes from what arrived. Then each host fixes
/// metadata and links in place and, with --delete, removes what the source lacks.
public typealias SyncRank = ToolRank<SyncRequest>

extension SyncRequest {
    /// Runs `rank`'s part of the sync; true when every host synced and none was lost.
    public static func perform(_ rank: SyncRank) throws -> Bool {
        try rank.sync()
    }
}

extension ToolRank where Request == SyncRequest {
    /// Past this many groups of hosts with different needs, files go to every
    /// host that needs any in one group (each host keeping its own).
    static var groupLimit: Int { 16 }

    /// This rank's part; true when every host synced and none was lost.
    func sync() throws -> Bool {
        let started = Date()
        let opening = try ToolOpening(world: world, hostName: hostName, sourceIsDestination: request.sourceIsDestination) { try Self.inventory(request) }
        let (hosts, writes, tree, manifest) = (opening.hosts, opening.writes, opening.tree, opening.manifest)
        if let sourceError = manifest.error {
            if world.rank == 0 {
                observer?.finished(
                    SyncReport(hosts: [], entries: 0, bytes: 0, bytesSent: 0, seconds: Date().timeIntervalSince(started), dryRun: request.dryRun, sourceError: sourceError))
            }
            return false
        }

        let destination = request.destination(on: hostName)
        var result = SyncHostResult(host: hostName, rank: world.rank, status: writes ? .synced : .source)
        let plan = writes
            ? SyncPlan(manifest: manifest, destination: destination, checksum: request.checksum, extendedAttributes: request.extendedAttributes, delete: request.delete)
            : nil
        if let plan {
            result.unchanged = plan.unchanged
            if request.dryRun {
                result.changes = plan.changes
                result.received = plan.needsData.count
                result.fixed = plan.changes.count - plan.needsData.count - plan.extras.count
                result.deleted = plan.extras.count
            }
        }
        var communicator = world
        var lost: [Int] = []
        var bytesSent: Int64 = 0
        let settings = StagedTree.Settings(preserve: true, commitEachFile: true, extendedAttributes: request.extendedAttributes)
        let whole = plan.map { _ in StagedTree(destination: destination, manifest: manifest, settings: settings, files: []) }
        do {
            if let plan, !request.dryRun, let whole {
                for obstacle in plan.obstacles + plan.leftovers { Self.removeTree(obstacle) }
                whole.prepare()
            }
            if !request.dryRun {
                bytesSent = try sendFiles(manifest: manifest, tree: tree, plan: plan, destination: destination, settings: settings, result: &result)
            }
        } catch {
            if !Self.isPeerFailure(error) { result.error = "\(Self.message(error))" }
            (communicator, lost) = try ToolOpening.survivors(of: world, seconds: recoverySeconds)
        }
        if let plan, let whole, !request.dryRun {
            result.fixed = fixInPlace(plan: plan, manifest: manifest, destination: destination, tree: whole)
            if request.delete {
                for extra in plan.extras { Self.removeTree(extra) }
                result.deleted = plan.extras.count
            }
            // Directories last, after everything inside them changed.
            whole.commit(only: Set(manifest.entries.indices.filter { manifest.entries[$0].kind == .directory }))
            if let root = manifest.root { applyMetadata(root, at: destination) }
            if result.error == nil, let error = whole.error { result.error = error }
        }
        if result.error != nil, result.status == .synced { result.status = .failed }

        var results = try SyncHostResult.gathered(result, on: communicator)
        for rank in lost {
            var gone = SyncHostResult(host: hosts[rank], rank: rank, status: .lost)
            gone.error = "stopped answering during the sync; the files that arrived whole are in place, a new sync sends the rest"
            results.append(gone)
        }
        results.sort { $0.rank < $1.rank }
        if communicator.rank == 0 {
            observer?.finished(
                SyncReport(
                    hosts: results, entries: manifest.entries.count, bytes: manifest.totalBytes, bytesSent: bytesSent,
                    seconds: Date().timeIntervalSince(started), dryRun: request.dryRun, sourceError: nil))
        }
        return results.allSatisfy { $0.error == nil } && lost.isEmpty
    }

    /// The source's manifest: its contents (as `rsync SRC/ DIR/`), with
    /// checksums and extended attributes when asked for.
    static func inventory(_ request: SyncRequest) throws -> SourceTree {
        var info = stat()
        guard stat(request.source, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw StageSourceError("the source \(request.source) is not a directory: \(String(cString: strerror(errno == 0 ? ENOTDIR : errno)))")
        }
        let tree = try SourceTree(sources: [request.source.hasSuffix("/") ? request.source : request.source + "/"], tag: String(UInt64.random(in: 0...UInt64.max), radix: 36))
        var manifest = tree.manifest
        manifest.root = StageEntry(
            path: "", kind: .directory, mode: UInt32(info.st_mode) & 0o7777, uid: info.st_uid, gid: info.st_gid,
            modified: Timestamp(info.st_mtim))
        if request.extendedAttributes { manifest.root?.extendedAttributes = ExtendedAttributes.read(.path(request.source)) ?? [] }
        for index in manifest.entries.indices {
            guard case .local(let path) = tree.origins[index] else {
                if request.extendedAttributes, manifest.entries[index].kind == .directory {
                    manifest.entries[index].extendedAttributes = ExtendedAttributes.read(.path(request.source + "/" + manifest.entries[index].path)) ?? []
                }
                continue
            }
            if request.checksum {
                guard let digest = SyncPlan.digest(of: path) else { throw StageSourceError("cannot read \(path): \(String(cString: strerror(errno)))") }
                manifest.entries[index].digest = digest
            }
            if request.extendedAttributes { manifest.entries[index].extendedAttributes = ExtendedAttributes.read(.path(path)) ?? [] }
        }
        tree.manifest = manifest
        return tree
    }

    /// Sends every needed file to the hosts that need it; returns the bytes rank 0 broadcast.
    private func sendFiles(
        manifest: StageManifest, tree: SourceTree?, plan: SyncPlan?, destination: String, settings: StagedTree.Settings, result: inout SyncHostResult
    ) throws -> Int64 {
        let files = manifest.entries.indices.filter { manifest.entries[$0].kind == .file }
        var bitmap = [UInt8](repeating: 0, count: (files.count + 7) / 8)
        if let plan {
            for (position, entry) in files.enumerated() where plan.needsData.contains(entry) { bitmap[position / 8] |= 1 << (position % 8) }
        }
        let needs = try world.allgather(ByteBuffer(bytes: bitmap)).map { Array($0.readableBytesView) }
        // Which ranks need each file; files needed by the same ranks travel together.
        var groups: [[Int]: [Int]] = [:]
        var order: [[Int]] = []
        for (position, entry) in files.enumerated() {
            let ranks = (0..<world.size).filter { needs[$0].count > position / 8 && needs[$0][position / 8] & (1 << (position % 8)) != 0 }
            guard !ranks.isEmpty else { continue }
            if groups[ranks] == nil { order.append(ranks) }
            groups[ranks, default: []].append(entry)
        }
        if order.count > Self.groupLimit {
            let everyone = Array(Set(order.joined())).sorted()
            groups = [everyone: order.flatMap { groups[$0]! }.sorted()]
            order = [everyone]
        }
        let total = order.reduce(Int64(0)) { sum, ranks in sum + groups[ranks]!.reduce(Int64(0)) { $0 + manifest.entries[$1].size } }
        var sent: Int64 = 0
        let mine = plan?.needsData ?? []
        for ranks in order {
            let member = world.rank == 0 || ranks.contains(world.rank)
            guard let group = try world.split(color: member ? 1 : nil, key: world.rank) else { continue }
            defer { group.free() }
            // Batches, each in place before the next is sent: what an interruption leaves needs no sending again.
            var batch: [Int] = []
            var batchBytes: Int64 = 0
            let entries = groups[ranks]!
            for (offset, entry) in entries.enumerated() {
                batch.append(entry)
                batchBytes += manifest.entries[entry].size
                guard batchBytes >= request.batchBytes || offset == entries.count - 1 else { continue }
                let writer = ranks.contains(world.rank) && plan != nil
                    ? StagedTree(destination: destination, manifest: manifest, settings: settings, files: batch, keep: mine) : nil
                try broadcastStream(on: group, files: batch, bytes: batchBytes, tree: tree, into: writer) { done in
                    observer?.progress(bytes: sent + done, of: total)
                }
                if let writer {
                    writer.finishData()
                    result.received += writer.committedEntries
                    result.bytes += writer.bytesWritten
                    if result.error == nil, let error = writer.error { result.error = error }
                }
                sent += batchBytes
                batch = []
                batchBytes = 0
            }
        }
        return sent
    }

    /// One batch's files as a stream of pipelined broadcasts from rank 0 of `group`.
    private func broadcastStream(on group: Communicator, files: [Int], bytes: Int64, tree: SourceTree?, into writer: StagedTree?, progress: (Int64) -> Void) throws {
        let reader = group.rank == 0 ? tree.map { SourceReader(tree: $0, digesting: false, files: files) } : nil
        let codec = ChunkCodec(compressing: false)
        let stream = ChunkStream(group: group, bytes: bytes, chunkBytes: request.chunkBytes, window: request.window)
        try stream.run(read: reader.map { reader in reader.read }) { chunk, done in
            writer?.consume(try codec.decode(chunk))
            if group.rank == 0 { progress(done) }
        }
        reader?.finish()
        if let error = reader?.error { throw StageSourceError(error) }
    }

    /// Sets right, in place, what needs no data: metadata of files that are
    /// already right, links and symlinks. Returns how many entries it fixed.
    private func fixInPlace(plan: SyncPlan, manifest: StageManifest, destination: String, tree: StagedTree) -> Int {
        var relink: Set<Int> = []
        for index in plan.fixes {
            let entry = manifest.entries[index]
            guard entry.kind == .file else {
                relink.insert(index)
                continue
            }
            applyMetadata(entry, at: destination + "/" + entry.path)
        }
        tree.commit(only: relink)
        return plan.fixes.count
    }

    /// The source's mode, owner (as root), time and attributes, on what is already there.
    private func applyMetadata(_ entry: StageEntry, at path: String) {
        if geteuid() == 0 { lchown(path, entry.uid, entry.gid) }
        chmod(path, entry.mode)
        var times = StagedTree.keepingAccessTime(modified: entry.modified)
        utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
        if request.extendedAttributes { _ = ExtendedAttributes.replace(on: .path(path), with: entry.extendedAttributes) }
    }

    /// Removes a file, link or whole directory tree (what --delete and a changed kind take away).
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o700)
            if let stream = opendir(path) {
                var names: [String] = []
                while let item = readdir(stream) {
                    let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(stream)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
