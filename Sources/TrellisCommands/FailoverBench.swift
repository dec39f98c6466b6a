import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench failover`: failover time and resync rate of a replicated
/// file system (`FailoverBenchmark`).
struct FailoverBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover",
        abstract: "Time from a server's kill to the first write and read of an object it was primary of, and its resync rate (JSON: one line per measurement).",
        discussion: """
            Starts a file system of --servers servers with --replicas copies under a temporary folder. Each round SIGKILLs the \
            primary of a new directory's group, times a write and read of a file there until both succeed (op failover), writes \
            --mebibytes MiB and creates --files files while the server is away, starts it again and times its resync until every \
            replica group is healthy (op resync: seconds, full or from the log, bytes, objects, mebibytes_per_second, \
            objects_per_second). The baseline (op local-copy) copies the same MiB from file to file on local disk and syncs.
            """)

    @OptionGroup var benchmark: FailoverBenchmark
}
