/// One part of `trellis report`: a figure or table of a paper, the
/// command that measures it here, and the plots that command draws.
struct ReportSection {
    /// The paper (or suite) the figure comes from.
    let paper: String
    /// Which figure or table, and what it shows.
    let title: String
    /// What the reader should compare.
    let explanation: String
    /// `trellis` arguments (after the program's path).
    let arguments: [String]
    /// Plot files the command writes (SVG), by path.
    let plots: [String]
    /// Seconds the command may take.
    let timeoutSeconds: Double

    /// Every section, at quick or full sizes, plots in `folder`; without a
    /// FUSE mount (`canMount` false) the parts that need one are left out.
    static func all(quick: Bool, folder: String, canMount: Bool) -> [ReportSection] {
        let persistent = "Latham, Ross and Thakur, \"Can MPI Be Used for Persistent Parallel Services?\""
        let pvfs = "Carns, Ligon, Ross and Thakur, \"PVFS: A Parallel File System for Linux Clusters\""
        let tools = "Bradshaw, Lusk et al., \"MPI for Cluster System Software\""
        let storage = "MPI as the transport of a replicated, striped storage service"
        return [
            ReportSection(
                paper: "\(persistent); \(storage)", title: "Capability, failure and limit tables",
                explanation: "Every row is a real scenario between separately started processes; an ideal implementation answers Y in every row.",
                arguments: ["probe", "--json"] + (quick ? ["--objects", "100000"] : []), plots: [], timeoutSeconds: 1800),
            ReportSection(
                paper: persistent, title: "Fig. 4: aggregate operations against the client doing each step, 1 to 64 servers",
                explanation: "Messages and critical-path steps per operation (O(log N) against O(N)), measured milliseconds, and the message schedule modeled with the measured cost of a message through the client's link.",
                arguments: ["bench", "aggregate", "--servers", "1", "2", "4", "8", "16", "32", "64", "--files", quick ? "30" : "50", "--plot", folder + "/aggregate.svg"],
                plots: [folder + "/aggregate.svg"], timeoutSeconds: 1800),
            ReportSection(
                paper: pvfs, title: "Figs. 5 and 6: concurrent writes and reads, 1 to 4 servers, 1 to 4 clients",
                explanation: "Aggregate MiB/s of P clients each writing, then reading, 2 MiB × servers of one shared file (and a file each), through the client library, Trellis MPI-IO and the FUSE mount; against a local file with fsync and one loopback TCP stream.",
                arguments: ["bench", "io", "--servers", "1", "2", "4", "--clients", "1", "2", "4", "--plot", folder + "/io.svg", "--json"]
                    + (canMount ? [] : ["--via", "native", "mpiio"]),
                plots: [folder + "/io.svg"], timeoutSeconds: 1800),
            ReportSection(
                paper: pvfs, title: "BTIO: the NAS BT-IO pattern through MPI-IO",
                explanation: "A block-distributed cube appended by one collective write per output step through a subarray view: Trellis MPI-IO against MPICH's ROMIO over the FUSE mount, same run.",
                arguments: ["bench", "btio", "--json"] + (quick ? ["--grid", "48", "--steps", "5"] : []) + (canMount ? [] : ["--implementations", "trellis"]),
                plots: [], timeoutSeconds: 1800),
            ReportSection(
                paper: "IO500", title: "IOR easy and hard through MPI-IO",
                explanation: "47,008-byte records interleaved by rank in one shared file (collective and independent calls), against a file per rank in 1 MiB transfers.",
                arguments: ["bench", "ior", "--json"] + (quick ? ["--mib-per-rank", "32"] : []), plots: [], timeoutSeconds: 1800),
            ReportSection(
                paper: pvfs, title: "UNIX tools on the file system: copying one large file",
                explanation: "trellis fs cp into and out of a 4-server file system against cp + sync to the local disk.",
                arguments: ["bench", "cp", "--json", "--mib", quick ? "256" : "1024"], plots: [], timeoutSeconds: 1800),
            ReportSection(
                paper: tools, title: "Fig. 1: file staging, time against nodes",
                explanation: "Seconds until every host has the files (one large file; a tree of small files) with trellis stage (broadcast) against an ssh loop, pdcp and clush --copy, on network-namespace hosts with their own sshd.",
                arguments: ["bench", "stage", "--json", "--plot", folder + "/stage.svg"]
                    + (quick ? ["--hosts", "2", "4", "8", "--large-mib", "256", "--small-files", "3000"] : []),
                plots: [folder + "/stage-large.svg", folder + "/stage-small.svg"], timeoutSeconds: 3600),
            ReportSection(
                paper: tools, title: "Fig. 2: one-to-many synchronization, time against nodes",
                explanation: "Seconds until every host's folder is identical with trellis sync against rsync in a loop and in parallel, on network-namespace hosts.",
                arguments: ["bench", "sync", "--json", "--plot", folder + "/sync.svg"] + (quick ? ["--hosts", "2", "4", "8", "--files", "3000"] : ["--hosts", "2", "4", "8"]),
                plots: [folder + "/sync.svg"], timeoutSeconds: 3600),
        ] + (quick ? [] : [
            ReportSection(
                paper: persistent, title: "The runtime against MPICH",
                explanation: "Ping-pong latency and bandwidth, broadcast and allreduce, Trellis (without key, with key, sealed) against MPICH over TCP and shared memory, same run.",
                arguments: ["bench", "compare", "--json"], plots: [], timeoutSeconds: 3600),
        ])
    }
}
