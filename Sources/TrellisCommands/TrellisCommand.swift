import ArgumentParser
import Logging
import TrellisCore
import TrellisNameService
import TrellisNames
import TrellisRunCommand

/// The `trellis` command line.
public struct TrellisCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trellis",
        abstract: "A message-passing runtime for persistent parallel services, and the tools on it.",
        subcommands: [RunCommand.self, ExecCommand.self, StageCommand.self, SyncCommand.self, ShellCommand.self, AgentsCommand.self, NamesCommand.self, UpCommand.self, DownCommand.self, MountCommand.self, UnmountCommand.self, FileSystemCommand.self, CheckCommand.self, MakeFileSystemCommand.self, FileSystemServerCommand.self, ProbeCommand.self, DemoCommand.self, BenchCommand.self, ReportCommand.self, ProxyCommand.self, UpHostCommand.self, KeygenCommand.self])

    public init() {}

    /// Runs the command line, finding and starting the name service as the
    /// trellis commands do (their config file; a daemon when none answers).
    public static func start() {
        NameServiceSetup.install(.standard)
        main()
    }

    /// Logs go to stderr, so program output on stdout stays clean.
    static func bootstrapLogging() { CommandLogging.bootstrap() }
}
