import Glibc
import ArgumentParser
import TrellisClusterTools
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisRunCommand
import TrellisSystem

/// `trellis exec --hosts LIST COMMAND...`: pdsh / clush over the launcher's proxy tree.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command on every host, gathering each host's output and exit code (as pdsh and clush do).",
        discussion: """
            The command goes to each host's shell as one line, through one proxy per host
            started over ssh (or srun, or forked) in a tree, as trellis run starts them.
            Hosts whose output and exit code are the same are printed as one block under
            their node set (clush -b, dshbak -c); --live prints each line at once behind
            its host's name instead. A host that fails, runs past --timeout or cannot be
            reached ends only its own part and is named at the end. The exit code is the
            largest of the hosts' (124 for a timeout, 255 for an unreachable host).
            """)

    @OptionGroup var placement: HostOptions

    @Flag(help: "Print each output line as it comes, behind its host's name.")
    var live = false

    @Option(help: "Seconds after which hosts still running the command are stopped and named.")
    var timeout: Double?

    @Option(help: "Seconds between asking a timed-out command to stop and killing it.")
    var graceSeconds: Double = 2

    @Flag(help: "Print one JSON object: each host's output, exit code and end.")
    var json = false

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
    var command: [String] = []

    func run() throws {
        CommandLogging.bootstrap()
        var words = command
        // The command's own arguments pass untouched, so help asked for before one is answered here.
        if words.first == "--help" || words.first == "-h" {
            print(Self.helpMessage().replacingOccurrences(of: "USAGE: exec", with: "USAGE: trellis exec"))
            return
        }
        if words.first == "--" { words.removeFirst() }
        guard !words.isEmpty else { throw ValidationError("name a command to run on the hosts") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout takes a positive number of seconds") }
        guard !(live && json) else { throw ValidationError("--live and --json do not go together") }
        var options = LaunchOptions(rankCount: 1, program: ["true"])
        try placement.apply(to: &options)
        // Without hosts, this host alone (its rank forked by the launcher, no ssh).
        if !placement.namesHosts { options.hosts = HostList([.init(name: IPv4Address.thisHostName(), slots: 1)]) }
        options.graceSeconds = graceSeconds
        var job = ExecJob(options: options, command: words.joined(separator: " "))
        job.timeoutSeconds = timeout
        job.live = live
        let (results, notices) = try job.run()
        let gathered = GatheredOutput(results)
        if json {
            try printJSON(ExecReport(results: results, notices: notices, exitCode: gathered.exitCode))
        } else {
            if !live { print(gathered.text(), terminator: "") }
            for line in gathered.problems(timeoutSeconds: timeout) { writeToStandardError("trellis exec: \(line)\n") }
            // The summary ends every run on a terminal; in pipes and logs, only a failed one (as pdsh and clush keep them clean).
            if gathered.exitCode != 0 || !gathered.timedOut.isEmpty || !gathered.unreachable.isEmpty || isatty(2) != 0 {
                writeToStandardError("trellis exec: \(gathered.summary(hosts: results.count))\n")
            }
        }
        if gathered.exitCode != 0 { throw ExitCode(gathered.exitCode) }
    }
}

/// `trellis exec --json`.
struct ExecReport: Encodable {
    struct Host: Encodable {
        var host: String
        var output: String
        /// exited, timed-out or unreachable.
        var end: String
        var exitCode: Int32
        var reason: String?
    }

    var hosts: [Host]
    var exitCode: Int32
    var notices: [String]

    init(results: [HostResult], notices: [String], exitCode: Int32) {
        hosts = results.map { result in
            var host = Host(host: result.host, output: String(decoding: result.output, as: UTF8.self), end: "exited", exitCode: result.exitCode)
            switch result.end {
            case .exited: break
            case .timedOut: host.end = "timed-out"
            case .unreachable(let reason):
                host.end = "unreachable"
                host.reason = reason
            }
            return host
        }
        self.exitCode = exitCode
        self.notices = notices
    }
}
