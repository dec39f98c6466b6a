import ArgumentParser
import Glibc
import Logging
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisSystem

/// `trellis run -n N PROGRAM ARGS...`: mpiexec, on this host or over hosts.
public struct RunCommand: ParsableCommand {
    /// The command's name, abstract and discussion for `--help`.
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start N ranks of a program as one job, on this host or over hosts.",
        discussion: """
            Every rank joins one world communicator through the launcher's PMI service
            (PMI-1 and PMI-2), so Trellis programs and MPICH programs both run under it.
            Output of all ranks reaches this terminal; stdin goes to rank 0; Ctrl-C reaches
            every rank. When a rank or a host fails, the others are stopped and trellis run
            exits with the highest rank exit code (128 + signal for a killed rank).

            With --hosts or --hostfile, one proxy per host (trellis proxy) starts that
            host's ranks and serves their PMI; proxies are started over ssh (or as local
            processes with --launcher fork) and connect back in a tree of --fanout
            children per node. Host lists use the nodeset syntax of ClusterShell and
            Slurm: node[01-16], a,b,c, host:SLOTS; hostfiles take Hydra's host:N and
            Open MPI's host slots=N lines.
            """)

    @Option(name: .short, help: "Number of ranks.")
    var n: Int = 1

    @OptionGroup var placement: HostOptions

    @Option(help: "Ranks per host, whatever the host list's slots say.")
    var ppn: Int?

    @Option(help: "Fill each host's slots before the next (slot) or one rank per host in turn (node).")
    var mapBy: String = "slot"

    @Flag(help: "Ranks connect to their PMI service at PMI_PORT with PMI_ID (MPICH's -pmi-port mode) instead of inheriting PMI_FD.")
    var pmiPort = false

    @Flag(help: "At the end, print how every host's ranks ended.")
    var report = false

    @Flag(help: "At the end, print how many messages the launcher itself handled.")
    var statistics = false

    @Flag(help: "Prefix each output line with [rank] ([host:rank] over hosts).")
    var tagOutput = false

    @Flag(help: "When a rank fails, let the others run on (for programs that survive failures).")
    var keepGoing = false

    @Option(help: "Seconds between asking ranks to stop and killing them.")
    var graceSeconds: Double = 5

    @Option(name: .customLong("env"), help: "Set NAME=VALUE in every rank's environment (repeatable; Hydra's -genv).")
    var settings: [String] = []

    @Option(help: .hidden)
    var preput: [String] = []

    @Option(help: .hidden)
    var readyFd: Int32?

    @Argument(parsing: .captureForPassthrough, help: "The program and its arguments.")
    var program: [String] = []

    /// A command with every option at its default; ArgumentParser fills them in.
    public init() {}

    /// Launches the job and blocks until it ends; exits with its exit code when
    /// that is not 0. Throws `ValidationError` for options that do not fit together.
    public mutating func run() throws {
        CommandLogging.bootstrap()
        var command = program
        // The program's arguments are passed through untouched, so help asked for before one is answered here.
        if command.first == "--help" || command.first == "-h" {
            var help = Self.helpMessage()
            if let usage = help.firstRange(of: "USAGE: run") { help.replaceSubrange(usage, with: "USAGE: trellis run") }
            print(help)
            return
        }
        if command.first == "--" { command.removeFirst() }
        guard !command.isEmpty else { throw ValidationError("name a program to run") }
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        var options = LaunchOptions(rankCount: n, program: [])
        options.applications = try Self.applications(firstCount: n, arguments: command)
        options.tagOutput = tagOutput
        options.graceSeconds = graceSeconds
        options.keepGoing = keepGoing
        options.report = report
        options.statistics = statistics
        options.pmiPort = pmiPort
        options.environment = try Self.assignments(settings, option: "--env")
        options.storeEntries = try Self.assignments(preput, option: "--preput")
        options.readyDescriptor = readyFd
        // Sets the path a spawned job's launcher starts from, even for a job on one host.
        try placement.apply(to: &options)
        if placement.namesHosts {
            options.ranksPerHost = ppn
            guard let order = Placement.Order(rawValue: mapBy) else { throw ValidationError("--map-by takes slot or node, not \(mapBy)") }
            options.order = order
        } else if ppn != nil {
            throw ValidationError("--ppn places ranks on hosts: give --hosts or --hostfile too")
        }
        let code = try JobLauncher(options: options).run()
        if code != 0 { throw ExitCode(code) }
    }
}

extension RunCommand {
    /// `NAME=VALUE` settings as a table (the value may hold `=` and spaces).
    static func assignments(_ settings: [String], option: String) throws -> [String: String] {
        var table: [String: String] = [:]
        for setting in settings {
            guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
                throw ValidationError("\(option) takes NAME=VALUE, not '\(setting)'")
            }
            table[String(setting[..<equals])] = String(setting[setting.index(after: equals)...])
        }
        return table
    }

    /// Splits `PROGRAM ARGS : -n N PROGRAM ARGS : ...` into applications (MPMD).
    static func applications(firstCount: Int, arguments: [String]) throws -> [LaunchApplication] {
        let segments = arguments.split(separator: ":", omittingEmptySubsequences: false).map(Array.init)
        var result = [LaunchApplication(count: firstCount, program: segments[0])]
        for segment in segments.dropFirst() {
            guard segment.count >= 3, segment[0] == "-n", let count = Int(segment[1]), count >= 1 else {
                throw ValidationError("after ':' comes '-n COUNT PROGRAM [ARGS...]'")
            }
            result.append(LaunchApplication(count: count, program: Array(segment.dropFirst(2))))
        }
        guard result.allSatisfy({ !$0.program.isEmpty }) else { throw ValidationError("name a program to run") }
        return result
    }
}

/// How `trellis run` starts proxies: `trellis-proxy` beside this binary when
/// there is one, else `trellis proxy` (the `trellis` binary, which a spawned job's launcher runs too).
public func proxyBootstrap(_ kind: ProxyBootstrap.Kind, command: String) -> ProxyBootstrap {
    ProxyBootstrap(
        kind: kind, sshCommand: command.split(separator: " ").map(String.init), trellisPath: trellisProgram(),
        proxyPath: siblingProgram("trellis-proxy"))
}

/// A program built beside this `trellis` binary, if it is there.
public func siblingProgram(_ name: String) -> String? {
    let trellis = currentExecutablePath()
    let path = String(trellis[..<(trellis.lastIndex(of: "/") ?? trellis.startIndex)]) + "/" + name
    return access(path, X_OK) == 0 ? path : nil
}

/// The path of the running `trellis` binary, for re-launching itself.
public func currentExecutablePath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return CommandLine.arguments[0] }
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// The `trellis` that other hosts and helpers run: `TRELLIS_EXECUTABLE`, else
/// the one beside this program or on PATH, else this program itself.
public func trellisProgram() -> String {
    (try? TrellisExecutable.locate()) ?? currentExecutablePath()
}

/// `trellis proxy --parent ADDRESS --position P [--key-on-stdin]` (internal): one
/// host's part of a job over hosts, started by the launcher's bootstrap.
public struct ProxyCommand: ParsableCommand {
    /// The command's name and abstract; hidden from `trellis --help`.
    public static let configuration = CommandConfiguration(
        commandName: "proxy", abstract: "Run one host's ranks of a job over hosts (started by trellis run).", shouldDisplay: false)

    @Option(help: "The parent node's address.")
    var parent: String

    @Option(help: "This proxy's position in the job's tree.")
    var position: Int?

    @Flag(help: "Ask the launcher for a position (proxies started by one srun step).")
    var join = false

    @Flag(help: "Read the job's key from the first line of stdin (a proxy started over ssh), not from TRELLIS_JOB_KEY.")
    var keyOnStdin = false

    /// A command with every option at its default; ArgumentParser fills them in.
    public init() {}

    /// Runs this host's part of the job until it ends; exits with its exit code when that is not 0.
    public func run() throws {
        CommandLogging.bootstrap()
        guard join || position != nil else { throw ValidationError("give --position or --join") }
        let key = try JobKey.handedToProxy(fromStandardInput: keyOnStdin)
        let code = JobProxy.run(parent: parent, position: position, key: key, join: join)
        if code != 0 { throw ExitCode(code) }
    }
}

/// Log lines go to stderr, at `TRELLIS_LOG_LEVEL` (warning by default).
public enum CommandLogging {
    /// Installs the stderr log handler; call it once per process, before anything logs.
    public static func bootstrap() {
        let level = ProcessEnvironment.value("TRELLIS_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
