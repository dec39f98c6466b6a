import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis bench fuse`: the mount against the native client and local
/// disk in the same run (`FuseBenchmark`).
struct FuseBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuse",
        abstract: "Throughput and metadata rates through the FUSE mount, against the native client and local disk in the same run.",
        discussion: """
            Starts a file system of --servers servers with a mount (`trellis up --mount`) under a temporary folder, unless \
            --mount names a Trellis mount that exists. Phases: sequential write (then fsync) and read of --mib MiB in \
            --block-kib KiB blocks, --random-reads reads of 4 KiB at random offsets of that file, and creating, stat-ing \
            and removing --files empty files in one directory, then creating and removing as many with each thread in a \
            directory of its own (create-unique, remove-unique: the kernel lets one create at a time into a directory \
            of a FUSE mount, so the first measures one thread's latency and the second what threads add). Each phase \
            runs --trials times, the three places taking turns, and the median rate is printed. Reads start from cold client caches (posix_fadvise DONTNEED); the \
            servers' own page caches stay warm. Prints one JSON object per phase with each place's rate and the mount's \
            rate over the native client's and local disk's (ratio_vs), then a line with the targets: the mount at 0.7x the native client or \
            better for sequential 1 MiB I/O, and 1,500 creates/s or more.
            """)

    @OptionGroup var benchmark: FuseBenchmark
}
