#if canImport(Glibc)
import Glibc
#endif
import TrellisCore

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
        let deadline = timeoutSeconds.map { Deadline.after(seconds: $0) }
        var status: Int32 = 0
        // waitpid has no timeout: with a walltime, poll it every 20 ms (a batch script's end, not a hot path).
        while true {
            let reaped = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { return (127, false) }
            if let deadline, deadline.hasPassed {
                kill(pid, SIGTERM)
                let grace = Deadline.after(seconds: 5)
                while waitpid(pid, &status, WNOHANG) == 0 {
                    if grace.hasPassed {
                        kill(pid, SIGKILL)
                        _ = ProcessSpawner.waitForExit(pid)
                        return (137, true)
                    }
                    usleep(20_000)
                }
                return (124, true)
            }
            if deadline != nil { usleep(20_000) }
        }
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, false)
    }
}
