import ArgumentParser
import Logging
import TrellisCore

/// The `trellis` command line.
public struct TrellisCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "trellis",
        abstract: "A message-passing runtime for persistent parallel services, and the tools on it.",
        subcommands: [RunCommand.self, NamesCommand.self, UpCommand.self, DownCommand.self, MountCommand.self, UnmountCommand.self, FileSystemCommand.self, CheckCommand.self, MakeFileSystemCommand.self, FileSystemServerCommand.self, ProbeCommand.self, DemoCommand.self, BenchCommand.self, ProxyCommand.self, UpHostCommand.self, ScenarioCommand.self])

    public init() {}

    /// Logs go to stderr, so program output on stdout stays clean.
    static func bootstrapLogging() {
        let level = ProcessEnvironment.value("TRELLIS_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
