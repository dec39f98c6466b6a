import Glibc
import Logging
import Synchronization
import TrellisCore
import TrellisSystem

/// A persistent agent on one host that starts the proxies of jobs in
/// place of ssh, in the role of Hydra's `hydra_persist` and of MPICH's MPD
/// ring: `trellis agents up` starts one per host once (over ssh), and every
/// later job with `--launcher agents` reaches each host's agent over TCP, so
/// a job's start no longer pays an ssh key exchange per host.
///
/// Each connection first passes `AgentHandshake` (both sides prove the key).
/// A proxy it starts gets the connection as its stdout and stderr, so the
/// node that asked reads the proxy's complaints and sees the connection
/// close when the proxy ends, as it would through ssh.
public final class ProxyAgent: Sendable {
    /// The secret a connecting launcher or proxy must prove it holds before this
    /// agent starts anything.
    public let key: AgentKey
    /// What starts a proxy here: `trellis-proxy`, or `trellis proxy`.
    public let proxyCommand: [String]
    private let logger: Logger
    /// The process groups of the proxies running now.
    private let running = Mutex<Set<pid_t>>([])
    /// The listening socket while `serve` answers on it; -1 once `stop` began.
    private let listening = Mutex<Int32?>(nil)
    private let host = IPv4Address.thisHostName()

    /// An agent that accepts only holders of `key` and starts proxies with
    /// `proxyCommand`; it answers nothing until `serve(listener:)`.
    public init(key: AgentKey, proxyCommand: [String], logger: Logger = Logger(label: "trellis.agent")) {
        self.key = key
        self.proxyCommand = proxyCommand
        self.logger = logger
    }

    /// Listens on `port` (0: any) and returns the port; `serve` then answers.
    public static func listen(port: Int) throws -> (fd: Int32, port: Int) {
        let listener = try LinkListener(port: port)
        _ = fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) & ~O_NONBLOCK)
        return (listener.fd, listener.port)
    }

    /// Answers connections on `listener` until a stop request or `stop()`;
    /// returns the exit code.
    public func serve(listener: Int32) -> Int32 {
        let stoppedAlready = listening.withLock { fd -> Bool in
            if fd == -1 { return true }
            fd = listener
            return false
        }
        if stoppedAlready { return 0 }
        logger.info("agent on \(host) (pid \(getpid())) serving")
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener, $0, &length) }
            }
            guard fd >= 0 else {
                if isStopping { return 0 }
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE { continue }
                logger.error("accept failed: \(SystemCallError("accept", errno: errno)); the agent stops")
                return 1
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let client = IPv4Address.host(of: peer) + ":" + String(UInt16(bigEndian: peer.sin_port))
            // Detached: nothing joins an answering thread, and a joinable one keeps its stack after it ends
            // (the hostile-input bench saw the agent grow by 8 KiB a connection).
            guard let thread = startThread({ self.answer(fd, client: client) }) else {
                logger.warning("no thread for \(client); connection closed")
                close(fd)
                continue
            }
            pthread_detach(thread)
        }
    }

    private func answer(_ fd: Int32, client: String) {
        let request: AgentRequest
        do {
            request = try AgentHandshake.agent(fd: fd, key: key, deadline: .after(seconds: 10), client: client)
        } catch {
            logger.warning("refused \(client): \(error)")
            _ = writeAll(fd, Array("trellis agent on \(host): refused: \(error)\n".utf8))
            close(fd)
            return
        }
        switch request {
        case .ping:
            _ = writeAll(fd, Array("agent \(host) pid \(getpid()) proxies \(running.withLock { $0.count })\n".utf8))
            close(fd)
        case .stop:
            logger.info("stop asked by \(client)")
            _ = writeAll(fd, Array("agent \(host) pid \(getpid()) stopping\n".utf8))
            stop()
            close(fd)
        case .startProxy(let parent, let position, let jobKey):
            startProxy(on: fd, parent: parent, position: position, jobKey: jobKey, client: client)
        }
    }

    private func startProxy(on fd: Int32, parent: String, position: Int, jobKey: String, client: String) {
        // The proxy writes to the connection as to a terminal: blocking.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var environment = ProcessEnvironment.current()
        environment[AgentKey.environmentVariable] = key.hex
        environment[JobKey.environmentVariable] = jobKey
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(
                arguments: proxyCommand + ["--parent", parent, "--position", String(position)], environment: environment,
                descriptors: ChildDescriptors(standardInput: nil, standardOutput: fd, standardError: fd), processGroup: 0, newSession: true)
        } catch {
            logger.error("cannot start a proxy for \(client): \(error)")
            _ = writeAll(fd, Array("trellis agent on \(host): cannot start a proxy: \(error)\n".utf8))
            close(fd)
            return
        }
        close(fd)
        running.withLock { _ = $0.insert(pid) }
        // A proxy that started while the agent stopped ends with it too.
        if isStopping { killpg(pid, SIGTERM) }
        logger.debug("proxy \(pid) at position \(position) for \(client), parent \(parent)")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        running.withLock { _ = $0.remove(pid) }
    }

    /// Stops answering and ends every proxy this agent started, so that
    /// stopping an agent (`trellis agents down`, SIGTERM from an init system)
    /// leaves no job's proxy behind; `serve` then returns 0. Any thread, any
    /// number of times.
    public func stop() {
        let listener = listening.withLock { fd -> Int32? in
            defer { fd = -1 }
            return fd
        }
        guard listener != -1 else { return }
        logger.info("agent on \(host) stopping")
        // The proxies first: once `serve` returns, the process may exit, and
        // a proxy still running then would outlive it. A proxy asked for
        // meanwhile is ended as it starts (`isStopping`).
        stopProxies()
        // Wakes the accept that `serve` blocks in (it then fails with EINVAL).
        if let listener { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    private var isStopping: Bool { listening.withLock { $0 == -1 } }

    /// SIGTERM to every proxy's group, SIGKILL to what is left after 3 s.
    private func stopProxies() {
        let groups = running.withLock { $0 }
        for group in groups { killpg(group, SIGTERM) }
        _ = poll(until: .after(seconds: 3), intervalMicroseconds: 20_000) { running.withLock { $0.isEmpty } }
        for group in running.withLock({ $0 }) { killpg(group, SIGKILL) }
    }
}
