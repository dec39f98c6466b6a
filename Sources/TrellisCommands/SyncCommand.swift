import ArgumentParser
import TrellisClusterTools
import TrellisCore
import TrellisLauncher
import TrellisRunCommand
import TrellisRuntime
import TrellisSystem

/// `trellis sync SOURCE --to DIR`: DIR on every host made identical to
/// SOURCE here (mpisync; rsync, dsync).
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Make a folder on every host identical to one here, sending each file only to the hosts that lack it (as rsync -a and dsync do).",
        discussion: """
            Rank 0, on this host, takes the inventory of SOURCE (its contents, as rsync
            SRC/ DIR/ takes them) and broadcasts it; every host compares it with DIR; an
            allgather tells which host needs which file, and each file's bytes go by
            broadcast to the hosts that need it alone. Files are compared by size and
            modification time (--checksum: by SHA-256); each arrives under a temporary name
            and is renamed into place whole, with the source's mode, times and (as root)
            owners exactly, so that a later rsync -a finds nothing to do and an interrupted
            sync resumes from what arrived. Symlinks and hard links are kept; --delete
            removes what the source lacks; -X keeps extended attributes.
            """)

    @OptionGroup var placement: HostOptions

    @OptionGroup var copy: ClusterCopyOptions

    @Flag(help: "Remove what the source lacks from DIR.")
    var delete = false

    @Flag(help: "Compare files by SHA-256 instead of size and modification time.")
    var checksum = false

    @Flag(name: [.customShort("X"), .customLong("xattrs")], help: "Keep extended attributes exactly.")
    var extendedAttributes = false

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Print what would change on which host; change nothing.")
    var dryRun = false

    @Option(help: "Bytes of files per batch (each batch is in place before the next is sent).")
    var batchBytes: Int = 256 << 20

    @OptionGroup var flags: ClusterToolFlags

    @Argument(help: "The folder whose contents every host's DIR is made identical to.")
    var source: String

    func validate() throws {
        guard batchBytes >= 1 else { throw ValidationError("--batch-bytes takes a positive number") }
    }

    func run() throws {
        CommandLogging.bootstrap()
        var request = SyncRequest(source: StageCommand.absolute(source), destination: StageCommand.absolute(copy.destination))
        request.delete = delete
        request.checksum = checksum
        request.extendedAttributes = extendedAttributes
        request.dryRun = dryRun
        request.chunkBytes = copy.chunkBytes
        request.batchBytes = Int64(batchBytes)
        try ClusterToolCommand.run(request, placement: placement, flags: flags, print: SyncReport.print, arguments: Self.arguments(for:))
    }

    static func arguments(for request: SyncRequest) -> [String] {
        var words = ["--events", "--to", request.destination, "--chunk-bytes", String(request.chunkBytes), "--batch-bytes", String(request.batchBytes)]
        if request.delete { words.append("--delete") }
        if request.checksum { words.append("--checksum") }
        if request.extendedAttributes { words.append("--xattrs") }
        if request.dryRun { words.append("--dry-run") }
        if !request.sourceIsDestination { words.append("--source-only") }
        return words + ["--", request.source]
    }
}
