import ArgumentParser
import TrellisBenchmarks

/// `trellis bench hostile`: the hostile-input campaign against every port (`HostileBenchmark`).
struct HostileBench: ProgramBenchmarkCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostile",
        abstract: "Send malformed, truncated, oversized and random messages at every listening port while an honest client keeps using each.",
        discussion: """
            Ports: the servers of a file system with a cluster key, the name service, the PMI port of a launcher \
            (trellis run --pmi-port) whose rank this process plays, a launch agent, and the link ports of a job's launcher \
            and proxy over two hosts (trellis run --launcher fork). Prints one JSON object per port: messages (and by kind), \
            closed_by_target, still_open, answered, crashes, hangs, honest_requests, honest_failures, rss_mib_before/after, \
            descriptors_before/after; then a table.
            """)

    @OptionGroup var benchmark: HostileBenchmark
}
