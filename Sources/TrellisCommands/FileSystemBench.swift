import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench fs`: file-system write and read throughput against a
/// local file in the same run (`FileSystemBenchmark`).
struct FileSystemBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "File-system write and read throughput against a local-file baseline measured in the same run.",
        discussion: "Prints one JSON object per line: bench (fs-write, fs-read), bytes, servers, seconds, mib_per_second, local_file_mib_per_second, ratio_vs_local_file (Trellis / local file).")

    @Option(help: "Servers of the file system it starts.") var servers = 4
    @Option(help: "MiB to write and read.") var mib = 256
    @Option(help: "MiB per client call.") var chunkMib = 8
    @Option(help: "Folder for the file system and the baseline file (default: a new one under /tmp).") var data: String?

    func run() throws {
        TrellisCommand.bootstrapLogging()
        try makeBenchmark().run()
    }

    private func makeBenchmark() -> FileSystemBenchmark {
        var benchmark = FileSystemBenchmark(executable: currentExecutablePath())
        benchmark.servers = servers
        benchmark.mib = mib
        benchmark.chunkMib = chunkMib
        benchmark.data = data
        return benchmark
    }
}
