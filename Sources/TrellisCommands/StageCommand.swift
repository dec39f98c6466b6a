import ArgumentParser
import TrellisClusterTools
import TrellisCore
import TrellisLauncher
import TrellisRunCommand
import TrellisRuntime
import TrellisSystem

/// `trellis stage SOURCE... --to DIR`: every host gets the sources on its
/// own disk, by the runtime's broadcast (Userstage; sbcast, dbcast, pdcp).
struct StageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Copy files and directory trees from this host to a folder on every host, by broadcast (as sbcast and pdcp do).",
        discussion: """
            Rank 0, on this host, reads the sources and broadcasts them in pipelined chunks
            down the runtime's tree, one rank per host; memory stays bounded whatever the
            size. A directory `src` arrives as DIR/src, `src/` puts its contents into DIR.
            Files are written under temporary names and renamed only when every host has
            them whole: on any failure (a full disk, a permission, a host that dies) every
            host removes what the stage wrote, unless --keep-partial, and the failed hosts
            are named with their errors. Run it with --hosts or --hostfile, inside
            `trellis run` or `srun` (one rank per host), or alone for this host.
            """)

    @OptionGroup var placement: HostOptions

    @OptionGroup var copy: ClusterCopyOptions

    @Flag(help: "Keep modes, modification times and (as root) owners exactly.")
    var preserve = false

    @Flag(help: "Read every file back on every host and compare its SHA-256 with the source's.")
    var verify = false

    @Flag(help: "On a failure, keep what the hosts received whole instead of removing it everywhere.")
    var keepPartial = false

    @Flag(help: "Compress chunks with zstd on the wire (worth it for compressible data on slow links).")
    var compress = false

    @Option(help: "The Trellis file system that fs:/ sources are in (as trellis up --name gave it).")
    var fsName = "trellis"

    @OptionGroup var flags: ClusterToolFlags

    @Argument(help: "Files, directories (src, or src/ for its contents), fs:/paths in a Trellis file system, tar:ARCHIVE for an archive's contents.")
    var sources: [String] = []

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("name what to stage: trellis stage SOURCE... --to DIR") }
    }

    func run() throws {
        CommandLogging.bootstrap()
        var request = StageRequest(sources: sources.map(Self.absolute), destination: Self.absolute(copy.destination))
        request.preserve = preserve
        request.verify = verify
        request.keepPartial = keepPartial
        request.compress = compress
        request.chunkBytes = copy.chunkBytes
        request.fileSystem = fsName
        try ClusterToolCommand.run(request, placement: placement, flags: flags, print: StageReport.print, arguments: Self.arguments(for:))
    }

    /// The flags a launched rank gets (with `--events`), the request's own.
    static func arguments(for request: StageRequest) -> [String] {
        var words = ["--events", "--to", request.destination, "--chunk-bytes", String(request.chunkBytes), "--fs-name", request.fileSystem]
        if request.preserve { words.append("--preserve") }
        if request.verify { words.append("--verify") }
        if request.keepPartial { words.append("--keep-partial") }
        if request.compress { words.append("--compress") }
        if !request.sourceIsDestination { words.append("--source-only") }
        return words + ["--"] + request.sources
    }

    /// Relative paths name the same place on every host: this directory's.
    /// (fs:/ paths are the file system's own; tar:FILE names a local archive.)
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("fs:") { return path }
        if path.hasPrefix("tar:") { return "tar:" + absolute(String(path.dropFirst(4))) }
        return path.hasPrefix("/") ? path : JobLauncher.workingDirectory() + "/" + path
    }
}
