import Glibc
import Synchronization
import TrellisCore
import TrellisSystem

/// Runs a command to its end with a deadline and collects its output: for
/// tools that drive other programs (benchmark comparisons, tests). The child
/// leads its own process group, which is killed when it ends or times out,
/// and is killed with its caller when the caller dies.
public enum CommandRunner {
    /// How a command ended and what it wrote.
    public struct Outcome: Sendable {
        /// The shell's view: the exit code, or 128 + signal.
        public let status: Int32
        /// Everything the command wrote to its standard output, as UTF-8.
        public let output: String
        /// Everything the command wrote to its standard error, as UTF-8.
        public let errors: String
        /// Whether the deadline passed before the command exited, so that it was
        /// stopped with signals.
        public let timedOut: Bool
        /// Standard output followed by standard error.
        public var combined: String { output + errors }

        /// Makes an outcome from its parts.
        public init(status: Int32, output: String, errors: String, timedOut: Bool) {
            self.status = status
            self.output = output
            self.errors = errors
            self.timedOut = timedOut
        }
    }

    /// A running child, for callers that act while it runs.
    public final class Child: @unchecked Sendable {
        /// The child's process id, which is also its process group id.
        public let pid: pid_t
        private let collected = Mutex<(output: [UInt8], errors: [UInt8])>(([], []))

        init(pid: pid_t) { self.pid = pid }

        /// The standard output collected so far.
        public var output: String { collected.withLock { String(decoding: $0.output, as: UTF8.self) } }
        /// The standard error collected so far.
        public var errors: String { collected.withLock { String(decoding: $0.errors, as: UTF8.self) } }
        func append(_ bytes: ArraySlice<UInt8>, error: Bool) {
            collected.withLock { if error { $0.errors += bytes } else { $0.output += bytes } }
        }
    }

    /// Starts `arguments` (the program is looked up on `PATH`), writes `input` to its
    /// standard input (or gives it `/dev/null`), and blocks until it exits or
    /// `timeoutSeconds` pass. `whileRunning` is called on this thread once the
    /// child has started; the timeout counts from when it returns.
    ///
    /// On timeout the child gets `SIGTERM`, then `SIGKILL` 15 seconds later; its
    /// process group is killed either way. Throws `launchFailed` when the pipes
    /// cannot be made or the program cannot start.
    public static func run(
        _ arguments: [String], environment: [String: String] = ProcessEnvironment.current(), input: String? = nil,
        timeoutSeconds: Double, whileRunning: ((Child) -> Void)? = nil
    ) throws -> Outcome {
        let output = try HostRanks.makePipe()
        let errors = try HostRanks.makePipe()
        let stdinPipe = try HostRanks.makePipe()
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(
                arguments: arguments, environment: environment,
                descriptors: ChildDescriptors(
                    standardInput: input == nil ? nil : stdinPipe.read, standardOutput: output.write, standardError: errors.write),
                // A caller stopped by a signal, or killed, takes its command along (bench compare's mpiexec outlived it).
                processGroup: 0, diesWithParent: true)
        } catch {
            [output.read, output.write, errors.read, errors.write, stdinPipe.read, stdinPipe.write].forEach { close($0) }
            throw error
        }
        close(output.write)
        close(errors.write)
        close(stdinPipe.read)
        if let input { writeAll(stdinPipe.write, Array(input.utf8)) }
        close(stdinPipe.write)
        let child = Child(pid: pid)
        let readers = [(output.read, false), (errors.read, true)].compactMap { fd, isError in
            startThread {
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
        whileRunning?(child)

        var status: Int32 = 0
        let deadline = Deadline.after(seconds: timeoutSeconds)
        var exited = waitUntil(pid, &status, deadline: deadline)
        let timedOut = !exited
        if !exited {
            kill(pid, SIGTERM)
            exited = waitUntil(pid, &status, deadline: .after(seconds: 15))
            if !exited {
                killpg(pid, SIGKILL)
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
            }
        }
        // Whatever the child left behind in its group goes too, so the pipes close.
        killpg(pid, SIGKILL)
        for reader in readers { pthread_join(reader, nil) }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: code, output: child.output, errors: child.errors, timedOut: timedOut)
    }

    private static func waitUntil(_ pid: pid_t, _ status: inout Int32, deadline: Deadline) -> Bool {
        while !deadline.hasPassed {
            if waitpid(pid, &status, WNOHANG) == pid { return true }
            usleep(5_000)
        }
        return false
    }
}
