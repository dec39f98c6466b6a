import ArgumentParser

/// A benchmark whose settings are its command-line options, declared once
/// here with their help and defaults (`trellis bench` takes them as an
/// option group), and that starts what it measures (file systems, mounts,
/// client processes) with a given `trellis` program.
public protocol ProgramBenchmark: ParsableArguments {
    /// Runs the benchmark, starting what it needs with `executable`, and
    /// prints its JSON lines. Throws `BenchmarkFailure` for settings it
    /// cannot measure or results that are wrong.
    func run(executable: String) throws
}

/// How the benchmarks of tools over namespace hosts (exec, stage, sync) end:
/// JSON lines and a table, or the JSON lines alone; and where they plot.
public struct HostBenchOutput: ParsableArguments {
    @Option(help: "Write an SVG plot of time against hosts here (bench stage: one per workload, FILE-large.svg and FILE-small.svg).")
    var plot: String?

    @Flag(help: "Print only the JSON lines.")
    var json = false

    /// A table and no plot.
    public init() {}
}
