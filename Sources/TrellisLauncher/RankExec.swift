#if canImport(Glibc)
import Glibc
#endif
import CTrellisSystem
import TrellisCore

/// The first moments of a rank: ask the kernel to kill this process if the
/// launcher dies (even by SIGKILL, which leaves it no chance to clean up),
/// then become the rank's program. posix_spawn cannot set this itself.
public enum RankExec {
    /// Never returns on success; returns the exit code to use on failure.
    public static func become(_ program: [String]) -> Int32 {
        guard !program.isEmpty else {
            report("exec-rank: no program given")
            return 2
        }
        trellis_set_parent_death_signal(SIGKILL)
        // The launcher may have died before the line above took effect.
        if let expected = ProcessEnvironment.value("TRELLIS_LAUNCHER_PID").flatMap(pid_t.init), getppid() != expected {
            return 1
        }
        let argv = program.map { strdup($0) } + [nil]
        execvp(program[0], argv)
        let code = errno
        report("trellis run: cannot start '\(program[0])': \(String(cString: strerror(code)))")
        return code == ENOENT ? 127 : 126
    }

    private static func report(_ text: String) {
        writeToStandardError(text + "\n")
    }
}
