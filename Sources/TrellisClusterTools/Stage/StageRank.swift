import Foundation
import NIOCore
import TrellisCore
import TrellisRuntime

/// One rank's part in a stage (Userstage, in "MPI for cluster system
/// software"): rank 0 reads the sources and broadcasts a manifest, then the
/// data in pipelined chunks; the first rank on each host writes them under
/// temporary names; an allgather of every host's result decides, the same
/// way everywhere, whether they all rename into place or all take back what
/// they wrote. A member that dies is found by the runtime: the survivors
/// revoke, shrink and decide among themselves, naming the lost host.
public typealias StageRank = ToolRank<StageRequest>

extension StageRequest {
    /// Runs `rank`'s part of the stage; true when it succeeded on every host.
    public static func perform(_ rank: StageRank) throws -> Bool {
        try rank.stage()
    }
}

extension ToolRank where Request == StageRequest {
    /// This rank's part; true when the stage succeeded on every host.
    func stage() throws -> Bool {
        let started = Date()
        let opening = try ToolOpening(world: world, hostName: hostName, sourceIsDestination: request.sourceIsDestination) {
            try SourceTree(sources: request.sources, tag: String(UInt64.random(in: 0...UInt64.max), radix: 36), fileSystemName: request.fileSystem)
        }
        let (hosts, writes, tree, manifest) = (opening.hosts, opening.writes, opening.tree, opening.manifest)
        if let sourceError = manifest.error {
            if world.rank == 0 {
                observer?.finished(StageReport(hosts: [], files: 0, bytes: 0, seconds: Date().timeIntervalSince(started), sourceError: sourceError, skipped: []))
            }
            return false
        }

        let staged = writes
            ? StagedTree(destination: request.destination(on: hostName), manifest: manifest, settings: .init(preserve: request.preserve, verify: request.verify))
            : nil
        var communicator = world
        var lost: [Int] = []
        var sourceError: String?
        var localError: String?
        do {
            staged?.prepare()
            let ready = try world.allreduce([staged?.error == nil ? 0 : 1] as [Int32], .max)[0] == 0
            if ready {
                sourceError = try moveData(manifest: manifest, tree: tree, into: staged)
            }
        } catch {
            // A member died (or the network cut one off): the others agree on who, and go on without it.
            if !Self.isPeerFailure(error) { localError = "\(hostName): \(Self.message(error))" }
            (communicator, lost) = try ToolOpening.survivors(of: world, seconds: recoverySeconds)
            staged?.abandonCurrentFile()
        }

        // Every host's result before anything is renamed: all commit, or all take back.
        let before = try gatherResults(on: communicator, staged: staged, error: sourceError ?? localError)
        let failed = !lost.isEmpty || before.contains { $0.error != nil }
        if let staged {
            if !failed || request.keepPartial {
                staged.commit()
            } else {
                staged.removeWhatThisStageWrote()
            }
        }
        var results = try gatherResults(on: communicator, staged: staged, error: sourceError ?? localError)
        for index in results.indices where results[index].status == .staged && failed {
            if !request.keepPartial {
                results[index].status = .removed
            } else if results[index].entries < manifest.entries.count {
                results[index].status = .partial
            }
        }
        for rank in lost {
            results.append(
                StageHostResult(
                    host: hosts[rank], rank: rank, status: .lost,
                    error: "stopped answering during the stage; what it wrote may remain in \(request.destination(on: hosts[rank])) as .trellis-stage-\(manifest.tag)-*"))
        }
        results.sort { $0.rank < $1.rank }
        let succeeded = !failed && results.allSatisfy { $0.error == nil }
        if communicator.rank == 0 {
            observer?.finished(
                StageReport(
                    hosts: results, files: manifest.fileCount, bytes: manifest.totalBytes, seconds: Date().timeIntervalSince(started),
                    sourceError: nil, skipped: tree?.skipped ?? []))
        }
        return succeeded
    }

    /// The stream of file bytes, chunk by chunk, with `window` broadcasts in
    /// flight; then (with --verify) the source's checksums. Returns rank 0's
    /// reading error, if any.
    private func moveData(manifest: StageManifest, tree: SourceTree?, into staged: StagedTree?) throws -> String? {
        let total = manifest.totalBytes
        let codec = ChunkCodec(compressing: request.compress)
        var reader: SourceReader?
        if world.rank == 0, let tree { reader = SourceReader(tree: tree, digesting: request.verify) }
        let stream = ChunkStream(group: world, bytes: total, chunkBytes: request.chunkBytes, window: request.window)
        try stream.run(read: reader.map { reader in { codec.encode(reader.read($0)) } }) { chunk, done in
            staged?.consume(try codec.decode(chunk))
            if world.rank == 0 { observer?.progress(bytes: done, of: total) }
        }
        staged?.finishData()
        reader?.finish()
        if request.verify {
            let digests: ByteBuffer
            if let reader {
                var all = ByteBuffer()
                for digest in reader.digests { all.writeBytes(digest) }
                digests = try world.broadcast(all, root: 0)
            } else {
                digests = try world.broadcast(nil, root: 0)
            }
            let bytes = Array(digests.readableBytesView)
            staged?.verify(against: stride(from: 0, to: bytes.count, by: 32).map { Array(bytes[$0..<min(bytes.count, $0 + 32)]) })
        }
        return reader?.error.map { "\(hostName): \($0)" }
    }

    /// Every rank's result, at every rank.
    private func gatherResults(on communicator: Communicator, staged: StagedTree?, error: String?) throws -> [StageHostResult] {
        var mine = StageHostResult(host: hostName, rank: world.rank, status: .source, error: error)
        if let staged {
            mine.error = staged.error ?? error
            mine.status = mine.error == nil ? .staged : .failed
            mine.entries = staged.committedEntries
            mine.bytes = staged.bytesWritten
        }
        return try StageHostResult.gathered(mine, on: communicator)
    }
}
