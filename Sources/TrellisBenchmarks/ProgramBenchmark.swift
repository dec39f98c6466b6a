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
