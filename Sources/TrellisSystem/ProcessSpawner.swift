import CTrellisSystem
import Glibc
import TrellisCore

/// How a child's standard descriptors are set up.
public struct ChildDescriptors: Sendable {
    /// Descriptor to become the child's stdin (nil: /dev/null).
    public var standardInput: Int32?
    /// Descriptor to become the child's stdout.
    public var standardOutput: Int32
    /// Descriptor to become the child's stderr.
    public var standardError: Int32
    /// Extra descriptors the child keeps: (parent's fd, child's fd number).
    public var inherited: [(Int32, Int32)]

    /// A descriptor map for `ProcessSpawner.spawn`.
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
    /// `newSession` detaches the child from this terminal and process group
    /// altogether (daemons), and then `processGroup` is ignored.
    /// `diesWithParent`: the kernel kills the child (SIGKILL) when this
    /// process dies, however it dies, as a launcher's ranks and proxies must;
    /// posix_spawn cannot ask for that, so such a child is forked by a C shim.
    public static func spawn(
        arguments: [String], environment: [String: String], descriptors: ChildDescriptors, processGroup: pid_t,
        newSession: Bool = false, diesWithParent: Bool = false
    ) throws -> pid_t {
        if diesWithParent && !newSession {
            return try spawnTied(arguments: arguments, environment: environment, descriptors: descriptors, processGroup: processGroup)
        }
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
        // Nothing else of this process's goes along: a descriptor someone opened without close-on-exec
        // (a caller's lock file or pipe) would otherwise live as long as the child, daemons included.
        trellis_spawn_add_closefrom(&actions, (descriptors.inherited.map(\.1).max() ?? 2) + 1)

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
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession {
            flags |= 0x80  // POSIX_SPAWN_SETSID, which Glibc's module does not export
        } else {
            posix_spawnattr_setpgroup(&attributes, processGroup)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

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

extension ProcessSpawner {
    private static func spawnTied(
        arguments: [String], environment: [String: String], descriptors: ChildDescriptors, processGroup: pid_t
    ) throws -> pid_t {
        guard let path = executablePath(arguments[0], searching: environment["PATH"] ?? ProcessEnvironment.value("PATH")) else {
            throw TrellisError(.launchFailed, "cannot start '\(arguments[0])'", underlying: SystemCallError("execve", errno: ENOENT))
        }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let from = descriptors.inherited.map(\.0)
        let to = descriptors.inherited.map(\.1)
        let result = trellis_spawn_tied(
            path, argv, envp, descriptors.standardInput ?? -1, descriptors.standardOutput, descriptors.standardError, from, to,
            Int32(from.count), processGroup, SIGKILL)
        guard result > 0 else {
            throw TrellisError(.launchFailed, "cannot start '\(arguments[0])'", underlying: SystemCallError("execve", errno: -result))
        }
        return result
    }

    /// Where `program` is: itself when it names a path, else the first
    /// executable of that name in `path` (the child's PATH, as execvp would
    /// search it); nil when there is none.
    static func executablePath(_ program: String, searching path: String?) -> String? {
        guard !program.contains("/") else { return program }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Spawns with stdin from /dev/null and stdout and stderr appended to
    /// `logPath` (a server or daemon whose output goes to its log).
    public static func spawn(
        arguments: [String], environment: [String: String], logPath: String, processGroup: pid_t = 0, newSession: Bool = false
    ) throws -> pid_t {
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else {
            throw TrellisError(.systemCall, "cannot open log file \(logPath)", underlying: SystemCallError("open", errno: errno))
        }
        defer { close(log) }
        return try spawn(
            arguments: arguments, environment: environment,
            descriptors: ChildDescriptors(standardInput: nil, standardOutput: log, standardError: log), processGroup: processGroup,
            newSession: newSession)
    }

    /// Runs a command to its end with its output discarded (or sent to
    /// `logFD`) and returns its exit status (128+signal when killed). Blocks until
    /// it exits; throws `launchFailed` when it cannot start.
    public static func runToCompletion(arguments: [String], environment: [String: String], logFD: Int32? = nil) throws -> Int32 {
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(null) }
        let output = logFD ?? null
        let pid = try spawn(
            arguments: arguments, environment: environment,
            descriptors: ChildDescriptors(standardInput: nil, standardOutput: output, standardError: output), processGroup: 0)
        return waitForExit(pid)
    }

    /// Waits for a child and decodes its status (128+signal when killed).
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// Finds the `trellis` executable, for parts of the runtime that start
/// helpers (the name service daemon, spawned jobs): `TRELLIS_EXECUTABLE`,
/// else next to the running program, else on PATH.
public enum TrellisExecutable {
    /// The `trellis` executable: `TRELLIS_EXECUTABLE`, else next to the running
    /// program, else on PATH. Throws `launchFailed` when there is none.
    public static func locate(environment: [String: String] = ProcessEnvironment.current()) throws -> String {
        if let explicit = environment["TRELLIS_EXECUTABLE"], !explicit.isEmpty { return explicit }
        return try locate(program: "trellis", environment: environment)
    }

    /// A program of the trellis family (`trellis`, `trellis-conformance`, ...):
    /// itself, or next to the running program, else on PATH.
    public static func locate(program: String, environment: [String: String] = ProcessEnvironment.current()) throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if length > 0 {
            let own = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if own.hasSuffix("/" + program) { return own }
            let sibling = String(own[..<(own.lastIndex(of: "/") ?? own.startIndex)]) + "/" + program
            if access(sibling, X_OK) == 0 { return sibling }
        }
        for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw TrellisError(.launchFailed, "cannot find the \(program) executable: put it next to trellis or on PATH\(program == "trellis" ? ", or set TRELLIS_EXECUTABLE" : "")")
    }
}
