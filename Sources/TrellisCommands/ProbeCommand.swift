import ArgumentParser
import Foundation
import TrellisCore
import TrellisRunCommand
import TrellisSystem

/// `trellis probe`: the capability tables of the persistent-services paper
/// (Latham, Ross and Thakur, "Can MPI Be Used for Persistent Parallel
/// Services?") and the MPI storage-transport paper, answered by Trellis.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Check Trellis against the capability, failure and limit tables of two papers on MPI for services.",
        discussion: """
            The tables are Table 1 of Latham, Ross and Thakur, "Can MPI Be Used for Persistent Parallel
            Services?", and Tables 1-3 of the paper on MPI as the transport of a replicated, striped
            storage service.

            Every row is a real scenario between separately started processes (singletons, jobs
            under trellis run, killed with SIGKILL where the table asks). An ideal implementation
            answers Y in every row; the exit status is 1 when any row says N.
            """)

    @Flag(help: "Print one JSON object per row instead of a table.") var json = false
    @Option(help: "Objects to create in the limit rows.") var objects = 1_000_000

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let scenarios: String
        do {
            scenarios = try TrellisExecutable.locate(program: "trellis-conformance")
        } catch {
            throw CommandFailure("trellis probe runs its scenarios with trellis-conformance, which was not found next to trellis or on PATH; build it with `swift build -c release --product trellis-conformance`")
        }
        let probe = CapabilityProbe(trellis: currentExecutablePath(), scenarios: scenarios, objectCount: objects)
        probe.runAll { row in
            if json {
                try? printJSON(row)
            } else {
                writeToStandardError("  \(row.answer)  \(row.feature) (\(String(format: "%.1f", row.seconds)) s)\n")
            }
        }
        if !json { printTable(probe.rows) }
        if probe.rows.contains(where: { $0.answer != "Y" }) { throw ExitCode(1) }
    }

    private func printTable(_ rows: [ProbeRow]) {
        let width = rows.map(\.feature.count).max() ?? 0
        var table: String?
        for row in rows {
            if row.table != table {
                print("\n\(row.table)")
                table = row.table
            }
            print("  \(row.feature.padding(toLength: width, withPad: " ", startingAt: 0))  \(row.answer)  \(row.detail)")
        }
        let yes = rows.filter { $0.answer == "Y" }.count
        print("\n\(yes) of \(rows.count) rows answer Y")
    }
}
