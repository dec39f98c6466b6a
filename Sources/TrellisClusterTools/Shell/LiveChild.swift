import Glibc
import TrellisCore
import TrellisSystem

/// A program run with this process's own stdin, stdout and stderr, in its
/// process group (so Ctrl-C on the terminal, or the launcher's SIGINT to
/// this rank's group, reaches it as it reaches this process): what a
/// shell's `run -n` line and a PBS script run as, their output live.
public enum LiveChild {
    /// The exit code (128 + signal when killed), and whether `timeoutSeconds` passed first.
    public static func run(_ arguments: [String], environment: [String: String], timeoutSeconds: Double? = nil) throws -> (code: Int32, timedOut: Bool) {
        let pid = try ProcessSpawner.spawn(
            arguments: arguments, environment: environment,
            descriptors: ChildDescriptors(standardInput: 0, standardOutput: 1, standardError: 2), processGroup: getpgrp())
        guard let timeoutSeconds else { return (ProcessSpawner.waitForExit(pid), false) }
        // waitpid has no timeout: with a walltime, it is polled (a batch script's end, not a hot path).
        var status: Int32 = 0
        let reaped = { waitpid(pid, &status, WNOHANG) == pid }
        if poll(until: .after(seconds: timeoutSeconds), reaped) {
            let signal = status & 0x7f
            return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, false)
        }
        kill(pid, SIGTERM)
        if poll(until: .after(seconds: 5), reaped) { return (124, true) }
        kill(pid, SIGKILL)
        _ = ProcessSpawner.waitForExit(pid)
        return (137, true)
    }
}
