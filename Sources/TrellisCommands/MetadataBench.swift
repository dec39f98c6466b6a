import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench meta`: mdtest-like metadata rates from several client
/// processes (`MetadataBenchmark`).
struct MetadataBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "meta",
        abstract: "mdtest-like create / stat / list / read / remove rates from several client processes (JSON: operations per second per phase).",
        discussion: """
            Starts a file system of --servers servers under a temporary folder (or uses --name). Each phase is timed from \
            the moment every client process is told to start to the moment the last one is done. Prints one JSON object per \
            phase: bench (meta), op, layout (shared or unique), bytes, clients, files, seconds, operations_per_second. In the list phase every client \
            reads its whole directory (the shared one, or its own) in pages with attributes and checks every entry is there; \
            its files and operations_per_second count entries listed. On a terminal a table follows. \
            A directory of a million entries: --files 250000 --bytes 0 --layouts shared.
            """)

    @OptionGroup var benchmark: MetadataBenchmark
}

/// The worker side (hidden): `trellis bench meta-worker`.
struct MetadataBenchWorker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "meta-worker", abstract: "One client process of bench meta.", shouldDisplay: false)
    @Option var name: String
    @Option var client: Int
    @Option var clients: Int

    func run() throws {
        TrellisCommand.bootstrapLogging()
        try MetadataBenchmarkWorker(name: name, client: client, of: clients).run()
    }
}
