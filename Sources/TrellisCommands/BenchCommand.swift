import ArgumentParser

/// `trellis bench ...`: the benchmarks that ship with Trellis.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Trellis (and MPICH, side by side).",
        subcommands: [])
}
