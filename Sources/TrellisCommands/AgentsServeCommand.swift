#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import TrellisCore
import TrellisLauncher
import TrellisRunCommand

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
            // group): the parent waits until the agent has its own, so that whoever
            // ends the starter's group when it exits does not end the agent too.
            var started: [Int32] = [0, 0]
            guard pipe(&started) == 0 else { throw ValidationError("cannot make a pipe: \(String(cString: strerror(errno)))") }
            switch fork() {
            case -1: throw ValidationError("cannot fork the agent: \(String(cString: strerror(errno)))")
            case 0:
                setsid()
                close(started[0])
                close(started[1])
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
            if null > 2 { close(null) }
            if output > 2 { close(output) }
            print("agent \(host) \(listener.port) \(getpid())")
            fflush(nil)
        }
        CommandLogging.bootstrap()
        signal(SIGPIPE, SIG_IGN)
        let agent = ProxyAgent(key: key, proxyCommand: proxyBootstrap(.agents, command: "ssh").proxyCommand, logger: Logger(label: "trellis.agent"))
        throw ExitCode(agent.serve(listener: listener.fd))
    }
}
