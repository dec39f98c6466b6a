import ArgumentParser
import TrellisBenchmarks

/// `trellis bench cp`: `trellis fs cp` into and out of a file system against `cp` + `sync` to the local disk (`CopyBenchmark`).
struct CopyBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp",
        abstract: "trellis fs cp of one large file into and out of a file system, against cp + sync to the local disk.",
        discussion: """
            Starts a file system of --servers servers, makes a file of --mib MiB in --source-folder, copies it to the local \
            disk with cp then sync (the baseline), then into the file system and back out with trellis fs cp, once per \
            --in-flight value, checking the copy out byte by byte. Prints one JSON object per copy: bench (cp-in, cp-out), \
            servers, in_flight, bytes, seconds, mib_per_second, cp_sync_mib_per_second, ratio_vs_cp_sync; then a table.
            """)

    @OptionGroup var benchmark: CopyBenchmark
}
