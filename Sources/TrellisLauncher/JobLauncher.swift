import Glibc
import Logging
import TrellisCore
import TrellisHosts
import TrellisSystem

/// `trellis run`: starts the ranks of one job, on this host or over hosts
/// through one proxy per host, serves their PMI bootstrap, relays their
/// output and signals, and ends the job as a whole when one rank or host
/// fails, leaving no process behind.
public final class JobLauncher {
    private let options: LaunchOptions
    private let logger: Logger

    /// A launcher for the job `options` describes; nothing starts until `run()`
    /// or `runToOutcome()`.
    public init(options: LaunchOptions, logger: Logger = Logger(label: "trellis.run")) {
        self.options = options
        self.logger = logger
    }

    /// Runs the job to its end; returns the exit code for the shell.
    public func run() throws -> Int32 {
        try runToOutcome().exitCode
    }

    /// Runs the job to its end; returns how each rank ended.
    public func runToOutcome() throws -> JobOutcome {
        let plan = try makePlan()
        let overHosts = options.hosts != nil
        let tags: [String]? = options.tagOutput
            ? plan.hostOfRank.indices.map { overHosts ? "\(plan.hosts[plan.hostOfRank[$0]]):\($0)" : "\($0)" }
            : nil
        let node = JobNode.launcher(
            plan: plan, jobKey: JobKey.random(), keepGoing: options.keepGoing, tags: tags, report: options.report, statistics: options.statistics, address: try launcherAddress(plan),
            readyFD: options.readyDescriptor.map { fcntl($0, F_DUPFD_CLOEXEC, 3) } ?? -1, watcher: options.watcher,
            timeLimitSeconds: options.timeLimitSeconds, logger: logger)
        // Only the copy above, which no rank inherits, stays open.
        if let given = options.readyDescriptor { close(given) }
        return node.runToOutcome()
    }

    /// Where every rank runs and how the tree of proxies is shaped.
    func makePlan() throws -> JobPlan {
        guard options.applications.allSatisfy({ $0.count >= 1 }) else { throw TrellisError(.invalidArgument, "-n must be at least 1") }
        guard options.applications.allSatisfy({ !$0.program.isEmpty }) else { throw TrellisError(.invalidArgument, "no program to run") }
        let hosts: [String]
        let hostOfRank: [Int]
        let mapping: String
        var environment = options.environment
        if let list = options.hosts {
            let placement: Placement
            do {
                placement = try Placement(ranks: options.rankCount, on: list, ranksPerHost: options.ranksPerHost, order: options.order)
            } catch {
                throw TrellisError(.invalidArgument, "\(error)")
            }
            (hosts, hostOfRank, mapping) = (placement.hosts, placement.hostOfRank, placement.processMapping)
            // As Hydra does: the launcher's environment reaches every rank, less what names this host.
            for (key, value) in ProcessEnvironment.current() where environment[key] == nil && !Self.staysOnThisHost(key) {
                environment[key] = value
            }
        } else {
            hosts = [IPv4Address.thisHostName()]
            hostOfRank = Array(repeating: 0, count: options.rankCount)
            mapping = "(vector,(0,1,\(options.rankCount)))"
        }
        var plan = JobPlan(
            kvsName: "trellis-\(getpid())-\(UInt32.random(in: 0...UInt32.max))",
            applications: options.applications, hosts: hosts, hostOfRank: hostOfRank, processMapping: mapping,
            environment: environment, workingDirectory: Self.workingDirectory(),
            graceSeconds: options.graceSeconds, tree: TreeShape(hostCount: options.hosts == nil ? 0 : hosts.count, fanout: options.fanout),
            bootstrap: options.bootstrap, linkTimeoutSeconds: options.linkTimeoutSeconds)
        if options.hosts != nil, options.bootstrap.kind == .ssh || options.bootstrap.kind == .agents, let own = hosts.firstIndex(where: ProxyBootstrap.isThisHost) {
            // This host's ranks run under the launcher itself, as on one host: no proxy, no hop.
            plan.tree = TreeShape(hostCount: hosts.count, fanout: options.fanout, launcherHost: own)
        }
        plan.pmiPort = options.pmiPort
        plan.storeEntries = options.storeEntries
        return plan
    }

    /// The address the launcher's children connect back to.
    private func launcherAddress(_ plan: JobPlan) throws -> String? {
        guard plan.tree.hostCount > 0 else { return nil }
        if let given = options.launcherAddress { return given }
        // Under ssh the launcher's children call back; under Slurm every proxy first joins here.
        let callers: [String]
        switch plan.bootstrap.kind {
        case .fork: return "127.0.0.1"
        case .ssh, .agents: callers = plan.tree.children(of: 0).map { plan.hosts[plan.tree.host(atPosition: $0)] }
        case .slurm: callers = plan.hosts
        }
        let remote = callers.filter { !ProxyBootstrap.isThisHost($0) }
        guard let first = remote.first else { return "127.0.0.1" }
        do {
            return try sourceAddress(towards: first)
        } catch let error as TrellisError {
            throw TrellisError(error.code, "cannot find a route to host \(first): \(error.message) (is the name right? --launcher-address names the address to use)")
        }
    }

    /// Variables that describe this host or this shell, not the job.
    static func staysOnThisHost(_ key: String) -> Bool {
        ["HOSTNAME", "PWD", "OLDPWD", "SHLVL", "_", "TRELLIS_HOST", "TRELLIS_HOST_NAME", "TRELLIS_RANK", "TRELLIS_SIZE", "TRELLIS_LAUNCHER_PID", "TRELLIS_PARENT_PORT", "TRELLIS_AGENT_KEY", "TRELLIS_JOB_KEY", "DISPLAY",
            "MPI_LOCALNRANKS", "MPI_LOCALRANKID", "MPIR_CVAR_CH3_INTERFACE_HOSTNAME"].contains(key)
            || key.hasPrefix("SSH_") || key.hasPrefix("PMI_")
    }

    /// This process's current directory, where the job's ranks start on every
    /// host; `/` when it cannot be read.
    public static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// `trellis proxy`: one host's part of a job over hosts. Connects back to
/// its parent in the tree, takes the job's plan, and runs its node. A proxy
/// that Slurm started (`join`) first asks the launcher for its place.
public enum JobProxy {
    /// Runs this host's part of a job and blocks until it ends. Connects to
    /// `parent` ("host:port") and proves `key` there, at tree position
    /// `position` or, with `join`, asks the launcher for one. Returns the
    /// process's exit code: 1 when the parent cannot be reached, does not
    /// prove the key, or sends no plan within 60 seconds.
    public static func run(
        parent address: String, position given: Int?, key: JobKey, join: Bool = false, logger: Logger = Logger(label: "trellis.proxy")
    ) -> Int32 {
        // An agent that started this proxy handed it the key for starting its own children; no rank gets it.
        AgentKey.takeFromEnvironment()
        var listener: LinkListener?
        var position = given ?? -1
        let deadline = Deadline.after(seconds: 60)
        var plan: JobPlan?
        var early: [LinkMessage] = []
        var link: Link
        do {
            if join {
                listener = try LinkListener()
                let host = ProcessEnvironment.value("SLURMD_NODENAME") ?? IPv4Address.thisHostName()
                link = try ParentLink.open(address, claim: .join(host: host, port: listener!.port), key: key, deadline: deadline)
            } else {
                link = try ParentLink.open(address, claim: .position(position), key: key, deadline: deadline)
            }
        } catch {
            writeToStandardError("trellis proxy: \(error)\n")
            return 1
        }
        while plan == nil && link.isOpen && !deadline.hasPassed {
            if !link.hasBufferedInput {
                var watched = [pollfd(fd: link.fd, events: Int16(POLLIN), revents: 0)]
                _ = poll(&watched, 1, 200)
            }
            for message in link.receive() {
                switch message {
                case .plan(let given) where plan == nil:
                    plan = given
                case .reparent(let assigned, let parentAddress) where plan == nil:
                    position = assigned
                    guard !parentAddress.isEmpty else { continue }
                    // Sent on to the parent Slurm's step gave this proxy in the tree.
                    link.shut("")
                    do {
                        link = try ParentLink.open(parentAddress, claim: .position(position), key: key, deadline: deadline)
                    } catch {
                        writeToStandardError("trellis proxy: \(error)\n")
                        return 1
                    }
                default:
                    if plan != nil { early.append(message) }
                }
                if !link.isOpen || (plan == nil && !early.isEmpty) { break }
            }
        }
        guard let plan else {
            writeToStandardError("trellis proxy: no job plan from \(address): \(link.isOpen ? "timed out" : link.closeReason)\n")
            return 1
        }
        guard plan.tree.parent(of: position) != nil, position <= plan.tree.proxyCount else {
            writeToStandardError("trellis proxy: position \(position) is not in the job's tree\n")
            return 1
        }
        if chdir(plan.workingDirectory) != 0 {
            link.send(.notice("\(plan.hosts[plan.tree.host(atPosition: position)]): cannot enter \(plan.workingDirectory) (\(String(cString: strerror(errno)))); ranks start in \(JobLauncher.workingDirectory())"))
        }
        return JobNode.proxy(plan: plan, jobKey: key, position: position, parent: link, listener: listener, logger: logger).run(early: early)
    }
}
