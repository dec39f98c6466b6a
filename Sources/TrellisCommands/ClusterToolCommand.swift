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

/// Where `trellis stage` and `trellis sync` write, and the pieces their data
/// travels in.
struct ClusterCopyOptions: ParsableArguments {
    @Option(name: .customLong("to"), help: "The folder on every host (%h stands for the host's name).")
    var destination: String

    @Option(help: "Bytes per broadcast chunk (memory per host is about four of them).")
    var chunkBytes: Int = 4 << 20

    func validate() throws {
        guard !destination.isEmpty else { throw ValidationError("--to names the folder on every host") }
        guard chunkBytes >= 4096, chunkBytes <= 256 << 20 else { throw ValidationError("--chunk-bytes takes 4096 to 268435456") }
    }
}

/// How `trellis stage` and `trellis sync` run. Given hosts (and not a rank
/// they launched themselves), the command launches itself over them as a
/// job and prints the report rank 0 sends back; otherwise it is one rank of
/// the job it is in (started by that launch, by `trellis run` or by `srun`),
/// or a job of one.
enum ClusterToolCommand {
    static func run<Request: ClusterToolRequest>(
        _ request: Request, placement: HostOptions, flags: ClusterToolFlags, print: @escaping (Request.Report, _ json: Bool) -> Void,
        arguments: @escaping (Request) -> [String]
    ) throws {
        typealias Report = Request.Report
        var request = request
        request.sourceIsDestination = !flags.sourceOnly
        let tool = Report.tool
        let json = flags.json
        if placement.namesHosts && !flags.events {
            var options = LaunchOptions(rankCount: 1, program: ["true"])
            try placement.apply(to: &options)
            let job = ToolJob(tool: tool, options: options) { sourceIsDestination in
                var placed = request
                placed.sourceIsDestination = sourceIsDestination
                return [currentExecutablePath(), tool] + arguments(placed)
            }
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
        var rank = ToolRank(world: runtime.world, request: request, hostName: ToolJob.hostName)
        rank.observer = observer
        let succeeded = try rank.run()
        try? runtime.finalize()
        // Launched by the command itself, the report carries the outcome; the exit code says only whether this rank did its part.
        if !succeeded && !flags.events { throw ExitCode(1) }
    }
}
