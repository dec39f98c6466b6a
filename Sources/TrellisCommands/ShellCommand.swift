import Glibc
import ArgumentParser
import Foundation
import TrellisClusterTools
import TrellisCore
import TrellisLauncher
import TrellisRunCommand
import TrellisRuntime
import TrellisSystem

/// `trellis shell [SCRIPT]`: a parallel shell over hosts (MPISH).
struct ShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Run a script of commands on every host (or @nodeset ones) from one job that stays up, or a PBS batch script unchanged (--pbs).",
        discussion: """
            One rank per host stays up for the whole script; rank 0, here, reads it and
            broadcasts each line. A plain line runs under /bin/sh on every host of the shell,
            or on those of a leading @nodeset; outputs are gathered and folded as trellis exec
            folds them. cd DIR and export K=V are set once and go with every later line.
            run -n N PROGRAM starts an MPI program over the shell's hosts, its PMI served by
            the launcher; stage ... --to DIR and sync SRC --to DIR lines run those tools on the
            shell's own ranks. The script stops at the first failure (set +e goes on), and
            Ctrl-C reaches the command running on every host. Without SCRIPT, lines come from
            stdin, with a prompt on a terminal. --pbs SCRIPT runs a PBS batch script as it is,
            on the first of the hosts its #PBS -l nodes= asks for.
            """)

    @OptionGroup var placement: HostOptions

    @Flag(help: "Run SCRIPT as a PBS batch script: its #PBS directives, PBS_* variables, mpiexec over the job's hosts.")
    var pbs = false

    @OptionGroup var flags: ClusterToolFlags

    /// Rank 0 reads a terminal through the launcher (its own stdin is the launcher's pipe).
    @Flag(help: .hidden)
    var interactive = false

    /// The placement flags for `run -n` lines, as a JSON array (they start with dashes).
    @Option(help: .hidden)
    var runFlags = "[]"

    @Argument(help: "The script (default: stdin).")
    var script: String?

    func run() throws {
        CommandLogging.bootstrap()
        if pbs { return try runPBS() }
        let scriptPath = script.map(StageCommand.absolute)
        if let scriptPath, access(scriptPath, R_OK) != 0 {
            throw ValidationError("cannot read the script \(scriptPath): \(String(cString: strerror(errno)))")
        }
        if placement.namesHosts && !flags.events {
            var options = LaunchOptions(rankCount: 1, program: ["true"])
            try placement.apply(to: &options)
            let placementFlags = String(decoding: try JSONEncoder().encode(Self.launchFlags(placement)), as: UTF8.self)
            let json = flags.json
            let atTerminal = scriptPath == nil && isatty(0) != 0
            var job = ToolJob(tool: "shell", options: options) { sourceIsDestination in
                [currentExecutablePath(), "shell", "--events"] + (sourceIsDestination ? [] : ["--source-only"]) + (json ? ["--json"] : []) + (atTerminal ? ["--interactive"] : [])
                    + ["--run-flags", placementFlags] + (scriptPath.map { ["--", $0] } ?? [])
            }
            job.passesOutput = true
            let (code, notices) = try job.runToExitCode()
            for notice in notices where code == 0 || !notice.contains("exited with code") { writeToStandardError("trellis shell: \(notice)\n") }
            if code != 0 { throw ExitCode(code) }
            return
        }
        let runtime = try Runtime.initialize()
        let host = ToolJob.hostName
        var shell = ShellRank(world: runtime.world, hostName: host, sourceIsHost: !flags.sourceOnly)
        shell.runFlags = (try? JSONDecoder().decode([String].self, from: Data(runFlags.utf8))) ?? []
        shell.trellisExecutable = (try? TrellisExecutable.locate()) ?? "trellis"
        shell.json = flags.json
        var reader: (() -> (number: Int, text: String)?)?
        if runtime.world.rank == 0 {
            if let scriptPath {
                guard let text = readTextFile(scriptPath) else { throw ValidationError("cannot read the script \(scriptPath)") }
                var lines = ShellLine.logicalLines(text).makeIterator()
                reader = { lines.next() }
            } else {
                let interactive = self.interactive || isatty(0) != 0
                shell.interactive = interactive
                var number = 0
                reader = {
                    if interactive && !flags.json { writeAll(1, Array("trellis shell> ".utf8)) }
                    guard let line = readLine() else { return nil }
                    number += 1
                    return (number, line)
                }
            }
        }
        let code = try shell.run(lines: reader)
        try? runtime.finalize()
        if code != 0 { throw ExitCode(code) }
    }

    /// The placement flags that `run -n` lines give `trellis run`.
    static func launchFlags(_ placement: HostOptions) -> [String] {
        ["--launcher", placement.launcher, "--ssh", placement.ssh, "--srun", placement.srun, "--fanout", String(placement.fanout),
            "--link-timeout", String(placement.linkTimeout)] + (placement.launcherAddress.map { ["--launcher-address", $0] } ?? [])
    }

    /// --pbs: the script runs here, as on a PBS job's first node, with the job's variables,
    /// and mpiexec, mpirun and pbsdsh in its PATH starting through Trellis over the job's hosts.
    private func runPBS() throws {
        guard let script else { throw ValidationError("--pbs names a batch script") }
        let path = StageCommand.absolute(script)
        guard let text = readTextFile(path) else { throw ValidationError("cannot read the batch script \(path)") }
        let batch = try PBSScript(text: text, scriptName: path)
        let hosts = placement.namesHosts ? try placement.hostList().names : [IPv4Address.thisHostName()]
        guard hosts.count >= batch.nodes else {
            throw ValidationError("the script asks for \(batch.nodes) nodes (#PBS -l nodes=); \(hosts.count) host\(hosts.count == 1 ? " is" : "s are") given")
        }
        let folder = NSTemporaryDirectory() + "trellis-pbs-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let nodefile = folder + "/nodefile"
        try batch.nodefile(hosts: hosts).write(toFile: nodefile, atomically: true, encoding: .utf8)
        let trellis = trellisProgram()
        let quoted = Self.launchFlags(placement).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let hostList = hosts.prefix(batch.nodes).joined(separator: ",")
        for name in ["mpiexec", "mpirun"] {
            try "#!/bin/sh\n# Torque's mpiexec, as trellis shell --pbs gives it: over the job's nodefile.\nexec '\(trellis)' run --hostfile \"$PBS_NODEFILE\" \(quoted) \"$@\"\n"
                .write(toFile: folder + "/bin/" + name, atomically: true, encoding: .utf8)
            chmod(folder + "/bin/" + name, 0o755)
        }
        try "#!/bin/sh\n# pbsdsh: the command once on every node of the job.\nexec '\(trellis)' exec --hosts '\(hostList)' \(quoted) -- \"$@\"\n"
            .write(toFile: folder + "/bin/pbsdsh", atomically: true, encoding: .utf8)
        chmod(folder + "/bin/pbsdsh", 0o755)
        var environment = ProcessEnvironment.current()
        for (key, value) in batch.environment(
            nodefile: nodefile, jobID: "\(getpid()).\(IPv4Address.thisHostName())", workingDirectory: JobLauncher.workingDirectory(), submitHost: IPv4Address.thisHostName())
        {
            environment[key] = value
        }
        environment["PATH"] = folder + "/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        // As PBS does: the script starts in the home directory (scripts cd to $PBS_O_WORKDIR themselves).
        let home = environment["HOME"] ?? "/"
        let (code, timedOut) = try LiveChild.run(
            ["/bin/sh", "-c", "cd \"$HOME\" 2>/dev/null || cd /; exec /bin/sh \"$0\"", path], environment: environment.merging(["HOME": home]) { $1 },
            timeoutSeconds: batch.wallSeconds)
        if timedOut { writeToStandardError("trellis shell: the script ran past its walltime (#PBS -l walltime) and was stopped\n") }
        if code != 0 { throw ExitCode(code) }
    }
}
