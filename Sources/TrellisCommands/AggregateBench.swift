import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench aggregate`: aggregate (server-side, tree) create, stat and
/// remove against the client doing each step, at 1 to N servers
/// (`AggregateBenchmark`).
struct AggregateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "Aggregate (server-side, tree) create / stat / remove against the client doing each step, at 1 to N servers.",
        discussion: """
            Prints one JSON object per line: bench (aggregate), op, servers, mode (aggregate or client), messages (crossing the client's link \
            per operation), steps (message time steps on the critical path, one message per step through a sender's link), \
            milliseconds (mean wall time per operation). On a terminal a table follows.
            """)

    @Option(help: "The largest file system measured (it measures 1 ... this many servers).") var maxServers = 8
    @Option(help: "Files per operation and mode.") var files = 50
    @Option(help: "Folder for the file systems (default: a new one under /tmp).") var data: String?

    func run() throws {
        TrellisCommand.bootstrapLogging()
        try makeBenchmark().run()
    }

    private func makeBenchmark() -> AggregateBenchmark {
        var benchmark = AggregateBenchmark(executable: currentExecutablePath())
        benchmark.maxServers = maxServers
        benchmark.files = files
        benchmark.data = data
        return benchmark
    }
}
