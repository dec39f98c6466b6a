import Foundation
import Testing
import TrellisLauncher

/// Runs the built `trellis` binaries as a user would, with a deadline, and
/// always cleans up what it started.
enum JobHarness {
    /// The folder holding the built executables (next to the test bundle).
    static let binaries: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug"),
        ]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("trellis").path) {
            return candidate
        }
        return candidates[0]
    }()

    static var trellis: String { binaries.appendingPathComponent("trellis").path }
    static var tools: String { binaries.appendingPathComponent("trellis-tools").path }
    static var conformance: String { binaries.appendingPathComponent("trellis-conformance").path }

    typealias Outcome = CommandRunner.Outcome

    /// Runs a command; past `timeoutSeconds` it is stopped and the test fails.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], input: String? = nil, timeoutSeconds: Double = 300,
        whileRunning: ((CommandRunner.Child) -> Void)? = nil
    ) throws -> Outcome {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let outcome = try CommandRunner.run(arguments, environment: merged, input: input, timeoutSeconds: timeoutSeconds, whileRunning: whileRunning)
        if outcome.timedOut {
            let command = arguments.joined(separator: " ")
            Issue.record("timed out after \(timeoutSeconds)s: \(command)\n\(outcome.combined)")
        }
        return outcome
    }

    /// Runs a conformance scenario under `trellis run -n ranks` and checks it passed.
    static func scenario(_ name: String, ranks: Int, environment: [String: String] = [:], timeoutSeconds: Double = 300) throws {
        let outcome = try run([trellis, "run", "-n", String(ranks), conformance, name], environment: environment, timeoutSeconds: timeoutSeconds)
        #expect(outcome.status == 0, "\(name) on \(ranks) ranks exited \(outcome.status):\n\(outcome.combined)")
        #expect(outcome.output.contains("PASS \(name) on \(ranks) ranks"), "\(name) on \(ranks) ranks:\n\(outcome.combined)")
    }

    /// Whether a process with this pid still exists.
    /// Whether `pid` runs: a child that died but was not reaped yet (a zombie) does not.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}
