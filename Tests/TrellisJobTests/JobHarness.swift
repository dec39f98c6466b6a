import Foundation
import Testing
import TrellisLauncher

/// Runs the built `trellis` binaries as a user would, with a deadline, and
/// always cleans up what it started. Children are spawned and reaped with
/// posix_spawn and waitpid directly, so nothing depends on a run loop.
enum JobHarness {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
        var combined: String { output + errors }
    }

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
    static var conformance: String { binaries.appendingPathComponent("trellis-conformance").path }

    /// A running child with its output collected as it comes.
    final class Child: @unchecked Sendable {
        let pid: pid_t
        private let lock = NSLock()
        private var outputBytes: [UInt8] = []
        private var errorBytes: [UInt8] = []

        init(pid: pid_t) { self.pid = pid }

        var output: String { lock.withLock { String(decoding: outputBytes, as: UTF8.self) } }
        var errors: String { lock.withLock { String(decoding: errorBytes, as: UTF8.self) } }
        func append(_ bytes: ArraySlice<UInt8>, error: Bool) {
            lock.withLock { if error { errorBytes += bytes } else { outputBytes += bytes } }
        }
    }

    /// Runs a command; past `timeoutSeconds` it is stopped (SIGTERM, then SIGKILL) and the test fails.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], input: String? = nil, timeoutSeconds: Double = 300,
        whileRunning: ((Child) -> Void)? = nil
    ) throws -> Outcome {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let output = try makePipe()
        let errors = try makePipe()
        let stdinPipe = try makePipe()
        let pid = try ProcessSpawner.spawn(
            arguments: arguments, environment: merged,
            descriptors: ChildDescriptors(
                standardInput: input == nil ? nil : stdinPipe.read, standardOutput: output.write, standardError: errors.write,
                inherited: []),
            processGroup: 0)
        close(output.write)
        close(errors.write)
        close(stdinPipe.read)
        if let input {
            var bytes = Array(input.utf8)
            _ = bytes.withUnsafeMutableBytes { write(stdinPipe.write, $0.baseAddress!, $0.count) }
            bytes.removeAll()
        }
        close(stdinPipe.write)
        let child = Child(pid: pid)
        let readers = [(output.read, false), (errors.read, true)].map { fd, isError in
            Thread {
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    child.append(chunk[..<count], error: isError)
                }
                close(fd)
            }
        }
        readers.forEach { $0.start() }
        whileRunning?(child)

        var status: Int32 = 0
        var exited = false
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        func poll() -> Bool {
            let result = waitpid(pid, &status, WNOHANG)
            return result == pid
        }
        while Date() < deadline {
            if poll() { exited = true; break }
            usleep(10_000)
        }
        var timedOut = false
        if !exited {
            timedOut = true
            kill(pid, SIGTERM)
            let hardDeadline = Date().addingTimeInterval(15)
            while Date() < hardDeadline { if poll() { exited = true; break }; usleep(10_000) }
            if !exited {
                killpg(pid, SIGKILL)
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
            }
        }
        // The child's own process group: anything it left behind goes too.
        killpg(pid, SIGKILL)
        let readDeadline = Date().addingTimeInterval(10)
        while readers.contains(where: { !$0.isFinished }) && Date() < readDeadline { usleep(10_000) }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let outcome = Outcome(status: code, output: child.output, errors: child.errors)
        if timedOut {
            let command = arguments.joined(separator: " ")
            Issue.record("timed out after \(timeoutSeconds)s: \(command)\n\(outcome.combined)")
        }
        return outcome
    }

    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

    /// Runs a conformance scenario under `trellis run -n ranks` and checks it passed.
    static func scenario(_ name: String, ranks: Int, environment: [String: String] = [:], timeoutSeconds: Double = 300) throws {
        let outcome = try run([trellis, "run", "-n", String(ranks), conformance, name], environment: environment, timeoutSeconds: timeoutSeconds)
        #expect(outcome.status == 0, "\(name) on \(ranks) ranks exited \(outcome.status):\n\(outcome.combined)")
        #expect(outcome.output.contains("PASS \(name) on \(ranks) ranks"), "\(name) on \(ranks) ranks:\n\(outcome.combined)")
    }

    /// Whether a process with this pid still exists.
    static func isAlive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 }
}
