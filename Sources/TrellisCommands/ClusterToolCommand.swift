import ArgumentParser
import TrellisClusterTools
import TrellisCore
import TrellisLauncher
import TrellisRunCommand
import TrellisRuntime
import TrellisSystem

/// The flags every cluster tool that runs as a job (`stage`, `sync`,
/// `shell`) has: `--json` for users, and the two it passes to its own ranks.
struct ClusterToolFlags: ParsableArguments {
    @Flag(help: "Print JSON: one object with every host's result (stage, sync), or one per line run (shell).")
    var json = false

    /// This process is a rank the command launched: report by events on stdout.
    @Flag(help: .hidden)
    var events = false

    /// This rank reads the sources and is not a destination.
    @Flag(help: .hidden)
    var sourceOnly = false
}

/// How `trellis stage` and `trellis sync` run. Given hosts (and not a rank
/// they launched themselves), the command launches itself over them as a
/// job and prints the report rank 0 sends back; otherwise it is one rank of
/// the job it is in (started by that launch, by `trellis run` or by `srun`),
/// or a job of one.
enum ClusterToolCommand {
    static func run<Report: ClusterToolReport>(
        _: Report.Type, placement: HostOptions, flags: ClusterToolFlags, print: @escaping (Report, _ json: Bool) -> Void,
        rankArguments: @escaping (_ sourceIsDestination: Bool) -> [String],
        rank: (_ world: Communicator, _ host: String, _ observer: ToolEvents<Report>) throws -> Bool
    ) throws {
        let tool = Report.tool
        let json = flags.json
        if placement.namesHosts && !flags.events {
            var options = LaunchOptions(rankCount: 1, program: ["true"])
            try placement.apply(to: &options)
            let job = ToolJob(tool: tool, options: options) { [currentExecutablePath(), tool] + rankArguments($0) }
            let (report, notices) = try job.run(reporting: Report.self)
            for notice in notices { writeToStandardError("trellis \(tool): \(notice)\n") }
            guard let report else {
                throw TrellisError(.peerFailed, "the \(tool) ended without a report: it did not start on every host, or rank 0 (on this host) ended early")
            }
            print(report, json)
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
            return
        }
        let runtime = try Runtime.initialize()
        let observer = ToolEvents<Report>(tool: tool, mode: flags.events ? .launched : .terminal(show: { print($0, json) }))
        let succeeded = try rank(runtime.world, ToolJob.hostName, observer)
        try? runtime.finalize()
        // Launched by the command itself, the report carries the outcome; the exit code says only whether this rank did its part.
        if !succeeded && !flags.events { throw ExitCode(1) }
    }
}
