import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench aggregate`: aggregate (server-side, tree) create, stat and
/// remove against the client doing each step, at 1 to N servers
/// (`AggregateBenchmark`).
struct AggregateBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "Aggregate (server-side, tree) create / stat / remove against the client doing each step, at 1 to N servers.",
        discussion: """
            Prints one JSON object per line: bench (aggregate), op, servers, mode (aggregate or client), messages (crossing the client's link \
            per operation), steps (message time steps on the critical path, one message per step through a sender's link), \
            milliseconds (mean wall time per operation). On a terminal a table follows.
            """)

    @OptionGroup var benchmark: AggregateBenchmark
}
