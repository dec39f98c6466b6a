import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench fs`: file-system write and read throughput against a
/// local file in the same run (`FileSystemBenchmark`).
struct FileSystemBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "File-system write and read throughput against a local-file baseline measured in the same run.",
        discussion: "Prints one JSON object per line: bench (fs-write, fs-read), bytes, servers, seconds, mib_per_second, local_file_mib_per_second, ratio_vs_local_file (Trellis / local file).")

    @OptionGroup var benchmark: FileSystemBenchmark
}
