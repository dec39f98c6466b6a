import ArgumentParser
import Foundation
import TrellisBenchmarks
import TrellisCore
import TrellisLauncher
import TrellisRunCommand
import TrellisSystem

/// `trellis bench limits`: the object limits of the MPI storage-transport
/// paper (the paper on MPI as the transport of a replicated, striped storage
/// service), measured on Trellis.
struct LimitsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits",
        abstract: "Create a million communicators, pending receives and windows and three million datatypes; hold thousands of clients; cycle connections.",
        discussion: "Each figure is one JSON line: check, count, seconds, resident size before and after (MiB), ok. A count of 0 skips its check.")

    @Option(help: "Communicators to duplicate.") var communicators = 1_000_000
    @Option(help: "Receives to post at once.") var receives = 1_000_000
    @Option(help: "One-sided windows to create.") var windows = 1_000_000
    @Option(help: "Hindexed datatypes to create.") var datatypes = 3_000_000
    @Option(help: "Client connections a server holds at once.") var clients = 2_000
    @Option(help: "Connect / disconnect cycles.") var cycles = 10_000
    @Option(help: ArgumentHelp(visibility: .private)) var role: String?
    @Option(help: ArgumentHelp(visibility: .private)) var portFile: String?

    func run() throws {
        TrellisCommand.bootstrapLogging()
        switch role {
        case "server":
            for record in try LimitsBenchmark.serve(clients: clients, cycles: cycles, portFile: portFile ?? "") { record.printLine() }
            return
        case "clients":
            try LimitsBenchmark.drive(clients: clients, cycles: cycles, portFile: portFile ?? "")
            return
        default:
            break
        }
        var records: [LimitRecord] = []
        let local: [(option: String, count: Int, check: (Int) throws -> LimitRecord)] = [
            ("--communicators", communicators, LimitsBenchmark.communicators), ("--receives", receives, LimitsBenchmark.postedReceives),
            ("--windows", windows, LimitsBenchmark.windows), ("--datatypes", datatypes, LimitsBenchmark.datatypes),
        ]
        for (option, count, check) in local where count > 0 {
            // Each check in a process of its own, so that its resident size is its own.
            let record = role == "local" ? try check(count) : try runLocalCheck(option, count)
            record.printLine()
            records.append(record)
        }
        if role == "local" { return }
        for record in clients + cycles > 0 ? try runConnectionChecks() : [] {
            record.printLine()
            records.append(record)
        }
        if records.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }

    /// Options that run one check alone: every count 0 but `option`'s.
    static func arguments(onlyChecking option: String, _ count: Int) -> [String] {
        ["--communicators", "--receives", "--windows", "--datatypes", "--clients", "--cycles"].flatMap { [$0, $0 == option ? String(count) : "0"] }
    }

    private func runLocalCheck(_ option: String, _ count: Int) throws -> LimitRecord {
        let outcome = try CommandRunner.run(
            [currentExecutablePath(), "bench", "limits", "--role", "local"] + Self.arguments(onlyChecking: option, count),
            environment: ProcessEnvironment.current(), timeoutSeconds: 1800)
        guard outcome.status == 0, let line = outcome.output.split(separator: "\n").last,
            let record = LimitRecord.parse(line)
        else { throw CommandFailure("the \(option.dropFirst(2)) check failed: \(outcome.combined)") }
        return record
    }

    /// Server and clients as two processes, so the server's size is its own.
    private func runConnectionChecks() throws -> [LimitRecord] {
        let portFile = NSTemporaryDirectory() + "trellis-limits-\(getpid()).port"
        defer { unlink(portFile) }
        let me = currentExecutablePath()
        let common = ["--clients", String(clients), "--cycles", String(cycles), "--port-file", portFile]
        let environment = ProcessEnvironment.current()
        let server = try CommandRunner.run([me, "bench", "limits", "--role", "server"] + common, environment: environment, timeoutSeconds: 1800) { _ in
            let clientsOutcome = try? CommandRunner.run(
                [me, "bench", "limits", "--role", "clients"] + common, environment: environment, timeoutSeconds: 1800)
            if let clientsOutcome, clientsOutcome.status != 0 {
                writeToStandardError("limits clients failed: \(clientsOutcome.errors)\n")
            }
        }
        guard server.status == 0 else { throw CommandFailure("the limits server failed: \(server.errors)") }
        return LimitRecord.parseLines(server.output)
    }
}
