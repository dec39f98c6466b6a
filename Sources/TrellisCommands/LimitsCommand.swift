import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench limits`: the object limits of the MPI storage-transport
/// paper (the paper on MPI as the transport of a replicated, striped storage
/// service), measured on Trellis.
struct LimitsBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits",
        abstract: "Create a million communicators, pending receives and windows and three million datatypes; hold thousands of clients; cycle connections.",
        discussion: "Each figure is one JSON line: check, count, seconds, resident size before and after (MiB), ok. A count of 0 skips its check.")

    @OptionGroup var benchmark: LimitsBenchmark
}
