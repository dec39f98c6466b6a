#if canImport(Glibc)
import Glibc
#endif
import TrellisCore

/// How a child's standard descriptors are set up.
public struct ChildDescriptors: Sendable {
    /// Descriptor to become the child's stdin (nil: /dev/null).
    public var standardInput: Int32?
    public var standardOutput: Int32
    public var standardError: Int32
    /// Extra descriptors the child keeps: (parent's fd, child's fd number).
    public var inherited: [(Int32, Int32)]

    public init(standardInput: Int32?, standardOutput: Int32, standardError: Int32, inherited: [(Int32, Int32)] = []) {
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.inherited = inherited
    }
}

/// Starts programs with posix_spawn: no fork of a multithreaded process,
/// an explicit descriptor map, default signal handling, and a process group.
public enum ProcessSpawner {
    /// Spawns `arguments[0]` (searched in PATH) and returns its pid. `processGroup`
    /// 0 makes the child lead a new group; another value joins that group.
    public static func spawn(
        arguments: [String], environment: [String: String], descriptors: ChildDescriptors, processGroup: pid_t
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input = descriptors.standardInput {
            posix_spawn_file_actions_adddup2(&actions, input, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, descriptors.standardOutput, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptors.standardError, 2)
        for (parentFD, childFD) in descriptors.inherited {
            posix_spawn_file_actions_adddup2(&actions, parentFD, childFD)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, processGroup)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TrellisError(
                .launchFailed, "cannot start '\(arguments[0])'", underlying: SystemCallError("posix_spawnp", errno: result))
        }
        return pid
    }
}
