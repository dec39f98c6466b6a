import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import TrellisLauncher

/// `trellis run -n N PROGRAM ARGS...`: mpiexec for this host.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start N ranks of a program as one job on this host.",
        discussion: """
            Every rank joins one world communicator through the launcher's PMI-1 service,
            so Trellis programs and MPICH programs both run under it. Output of all ranks
            reaches this terminal; stdin goes to rank 0; Ctrl-C reaches every rank. When a
            rank fails, the others are stopped and trellis run exits non-zero.
            """)

    @Option(name: .short, help: "Number of ranks.")
    var n: Int = 1

    @Flag(help: "Prefix each output line with [rank].")
    var tagOutput = false

    @Flag(help: "When a rank fails, let the others run on (for programs that survive failures).")
    var keepGoing = false

    @Option(help: "Seconds between asking ranks to stop and killing them.")
    var graceSeconds: Double = 5

    @Argument(parsing: .captureForPassthrough, help: "The program and its arguments.")
    var program: [String] = []

    mutating func run() throws {
        TrellisCommand.bootstrapLogging()
        var command = program
        if command.first == "--" { command.removeFirst() }
        guard !command.isEmpty else { throw ValidationError("name a program to run") }
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        var options = LaunchOptions(rankCount: n, program: [])
        options.applications = try Self.applications(firstCount: n, arguments: command)
        options.tagOutput = tagOutput
        options.graceSeconds = graceSeconds
        options.keepGoing = keepGoing
        options.rankWrapper = rankWrapper()
        let code = try JobLauncher(options: options).run()
        if code != 0 { throw ExitCode(code) }
    }
}

extension RunCommand {
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

/// Ranks start through `trellis exec-rank`, so they die with the launcher.
func rankWrapper() -> [String] { [currentExecutablePath(), "exec-rank", "--"] }

/// `trellis exec-rank -- PROGRAM ARGS...` (internal): see `RankExec`.
struct ExecRankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec-rank", abstract: "Start one rank's program, tied to its launcher (used by trellis run).",
        shouldDisplay: false)

    @Argument(parsing: .captureForPassthrough)
    var program: [String] = []

    func run() throws {
        var command = program
        if command.first == "--" { command.removeFirst() }
        throw ExitCode(RankExec.become(command))
    }
}

/// The path of the running `trellis` binary, for re-launching itself.
func currentExecutablePath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return CommandLine.arguments[0] }
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
