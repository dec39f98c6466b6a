import ArgumentParser
import TrellisBenchmarks
import TrellisRunCommand

/// `trellis report`: the papers' figures and tables, measured here, on one HTML page (`SeedReport`).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Measure every figure and table of the papers Trellis follows and write them, with their plots, on one HTML page.",
        discussion: """
            Runs, one after another: trellis probe (the capability, failure and limit tables), bench aggregate (the \
            persistent-services paper's Fig. 4, 1 to 64 servers), bench io (PVFS Figs. 5 and 6), bench btio (BT-IO against \
            ROMIO), bench ior (IO500's IOR easy and hard), bench cp, bench stage and bench sync (the cluster-tools paper's \
            Figs. 1 and 2, on network-namespace hosts), and at full size bench compare (the runtime against MPICH). Each part \
            keeps its baselines from the same run. A part that cannot run here (no root for a mount or namespaces, no \
            MPICH) says why on the page, and the others still run. --quick takes under 20 minutes on a 2-core machine.
            """)

    @OptionGroup var report: SeedReport

    func run() throws {
        TrellisCommand.bootstrapLogging()
        try report.run(executable: currentExecutablePath())
    }
}
