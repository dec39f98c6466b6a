import Glibc
import ArgumentParser
import Logging
import TrellisCore
import TrellisLauncher
import TrellisRunCommand
import TrellisServices
import TrellisSystem

/// `trellis agents serve`: the agent itself, as `trellis agents up` starts
/// it on each host. Reads the key from its stdin, listens, prints
/// `agent HOST PORT PID`, and (unless --foreground) leaves the session that
/// started it, logging to ~/.trellis/agent-HOST.log.
struct AgentsServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run this host's agent (trellis agents up starts it; the key comes on stdin).", shouldDisplay: false)

    @Option(help: "The port to listen on (0: any free one).")
    var port: Int = 0

    @Flag(help: "Stay in the foreground, logging to stderr.")
    var foreground = false

    func run() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port takes 0 to 65535") }
        guard let line = readLine(), let key = AgentKey(hex: line.trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("the agent reads its key (64 hexadecimal digits) from stdin")
        }
        let listener = try ProxyAgent.listen(port: port)
        let host = IPv4Address.thisHostName()
        print("agent \(host) \(listener.port) \(getpid())")
        fflush(nil)
        if !foreground {
            let log = AgentTable.folder() + "/agent-\(host).log"
            mkdir(AgentTable.folder(), 0o700)
            // Leave the session that started it (an ssh login, a shell's process
            // group), keeping nothing of the caller's but the listening socket:
            // stdio goes to /dev/null and the log, every other inherited
            // descriptor is closed (a pipe of the caller's kept open would never
            // end for it). The parent exits only once that is done, so whoever
            // ends the starter's group or reads its output to the end does not
            // wait on, or end, the agent.
            var started: [Int32] = [0, 0]
            guard pipe(&started) == 0 else { throw ValidationError("cannot make a pipe: \(String(cString: strerror(errno)))") }
            switch fork() {
            case -1: throw ValidationError("cannot fork the agent: \(String(cString: strerror(errno)))")
            case 0:
                setsid()
                close(started[0])
            default:
                close(started[1])
                var byte: UInt8 = 0
                while read(started[0], &byte, 1) < 0 && errno == EINTR {}
                _exit(0)
            }
            let null = open("/dev/null", O_RDWR)
            let output = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            dup2(null, 0)
            dup2(output >= 0 ? output : null, 1)
            dup2(output >= 0 ? output : null, 2)
            Self.closeInherited(keeping: [listener.fd, started[1]])
            close(started[1])
            print("agent \(host) \(listener.port) \(getpid())")
            fflush(nil)
        }
        CommandLogging.bootstrap()
        signal(SIGPIPE, SIG_IGN)
        let logger = Logger(label: "trellis.agent")
        let agent = ProxyAgent(key: key, proxyCommand: proxyBootstrap(.agents, command: "ssh").proxyCommand, logger: logger)
        // SIGTERM and SIGINT stop it as `trellis agents down` does: the
        // proxies it started end with it.
        let service = BlockingService(
            "agent on \(host)",
            run: {
                let code = agent.serve(listener: listener.fd)
                if code != 0 { throw TrellisError(.systemCall, "the agent on \(host) stopped accepting connections (see its log)") }
            },
            stop: agent.stop)
        try ServiceRunner.runUntilSignalled([service], logger: logger)
    }

    /// Closes every descriptor above stderr but `keeping` (read from /proc/self/fd).
    private static func closeInherited(keeping: Set<Int32>) {
        guard let directory = opendir("/proc/self/fd") else { return }
        var open: [Int32] = []
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let fd = Int32(name), fd > 2 { open.append(fd) }
        }
        let listing = dirfd(directory)
        closedir(directory)
        for fd in open where fd != listing && !keeping.contains(fd) { close(fd) }
    }
}
