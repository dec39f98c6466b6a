import Glibc
import Logging
import TrellisCore
import TrellisWire
import TrellisSystem

/// One node of a job's tree, run as a poll loop: the launcher (position 0)
/// or the proxy of one host. It starts its child proxies and this host's
/// ranks, serves the ranks' PMI, gathers fences from its subtree and passes
/// them up (the launcher releases them down), carries output, ends and
/// losses up, and stdin, signals and stop orders down.
///
/// A job on one host is the launcher alone, with every rank its own.
final class JobNode {
    let plan: JobPlan
    let position: Int
    /// The host whose ranks this node runs; nil for the launcher of a job over hosts.
    let localHost: Int?
    private let parent: Link?
    private let logger: Logger
    private var pmi: PMIServerState
    private let ranks = HostRanks()
    private let plannedRanks: [Int]
    private var children: [ChildProxy] = []
    private var listener: LinkListener?
    /// The `srun` step that started every proxy (the launcher of a job under Slurm).
    private var step: ChildProxy?
    /// Where each proxy Slurm started listens for its children, and the
    /// proxies waiting to be told where their parent is.
    private var joined: [Int: String] = [:]
    private var awaitingParent: [(position: Int, link: Link)] = []
    /// Links accepted whose far end has not proven the job's key yet, with the nonce each was challenged with.
    private var unidentified: [(link: Link, since: Deadline, nonce: [UInt8])] = []
    /// The job's secret, which every link of its tree proves (`LinkHandshake`).
    private let jobKey: JobKey
    /// The address children connect back to, and ranks listen on (nil: loopback).
    private let hostAddress: String?
    /// Where ranks started with `PMI_PORT` connect, and the connections not yet identified.
    private var pmiListener: LinkListener?
    private var pmiPending: [(fd: Int32, framer: PMIMessageFramer, since: Deadline)] = []

    // The launcher's part.
    private var ledger: JobLedger?
    private var writer = OutputWriter(tags: nil)
    private var readsInput = false
    private var interruptCount = 0
    private var report = false
    /// The launcher's: who gets output and notices instead of the terminal.
    private var watcher: (any JobWatcher)?
    private var timeLimitSeconds: Double?
    private var timeLimit: Deadline?
    private var timedOut = false
    private var statistics = false
    /// Messages for the parent gathered in this turn of the loop, sent as one frame at its end.
    private var outbox: [LinkMessage] = []
    /// Links to proxies this node has had (kept to count their messages at the end); strangers' are not kept.
    private var allLinks: [Link] = []
    /// Jobs the ranks spawned (the launcher's), and the highest exit code among their failures.
    private var spawned: [SpawnedJob] = []
    private var spawnedFailureCode: Int32 = 0
    /// Where this launcher says once that its ranks are up (a spawned job's, `--ready-fd`).
    private var readyFD: Int32 = -1

    // Fences: this host's puts once its ranks are all in, and each child's subtree's.
    private var localFence: [String: String]?
    private var childFences: [Int: [String: String]] = [:]

    // Stopping.
    private var stopDeadline: Deadline?
    private var killed = false
    private var drainDeadline: Deadline?
    private var bootstrapDeadline: Deadline?
    private var sentDone = false

    private init(plan: JobPlan, jobKey: JobKey, position: Int, localHost: Int?, parent: Link?, hostAddress: String?, logger: Logger) {
        self.plan = plan
        self.jobKey = jobKey
        self.position = position
        self.localHost = localHost
        self.parent = parent
        self.hostAddress = hostAddress
        self.logger = logger
        plannedRanks = localHost.map(plan.ranks(onHost:)) ?? []
        pmi = PMIServerState(
            size: plan.rankCount, kvsName: plan.kvsName, applicationNumbers: (0..<plan.rankCount).map(plan.applicationNumber(ofRank:)),
            localRanks: plannedRanks, processMapping: plan.processMapping, entries: plan.storeEntries)
    }

    /// The launcher's node. `tags`: output prefixes per rank when tagging.
    /// `readyFD`: written to once every rank has passed its first PMI fence.
    static func launcher(
        plan: JobPlan, jobKey: JobKey, keepGoing: Bool, tags: [String]?, report: Bool, statistics: Bool = false, address: String?, readyFD: Int32 = -1,
        watcher: (any JobWatcher)? = nil, timeLimitSeconds: Double? = nil, logger: Logger
    ) -> JobNode {
        let overHosts = plan.tree.hostCount > 0
        let localHost = overHosts ? plan.tree.launcherHost : 0
        let node = JobNode(plan: plan, jobKey: jobKey, position: 0, localHost: localHost, parent: nil, hostAddress: address, logger: logger)
        node.ledger = JobLedger(hosts: plan.hosts, hostOfRank: plan.hostOfRank, keepGoing: keepGoing, namesHosts: overHosts)
        node.writer = OutputWriter(tags: tags)
        // Rank 0 here reads this process's stdin itself; elsewhere it is forwarded.
        node.readsInput = plan.hostOfRank[0] != localHost
        node.report = report
        node.statistics = statistics
        node.readyFD = readyFD
        node.watcher = watcher
        node.timeLimitSeconds = timeLimitSeconds
        return node
    }

    /// A proxy's node, once it has its plan from `parent`. `listener`: where
    /// it already listens for its children (a proxy Slurm started says so when it joins).
    static func proxy(plan: JobPlan, jobKey: JobKey, position: Int, parent: Link, listener: LinkListener? = nil, logger: Logger) -> JobNode {
        // Ranks of a job over real hosts listen where the other hosts reach this one.
        let address = plan.bootstrap.kind == .fork ? nil : parent.localHost
        let node = JobNode(
            plan: plan, jobKey: jobKey, position: position, localHost: plan.tree.host(atPosition: position), parent: parent, hostAddress: address,
            logger: logger)
        node.listener = listener
        return node
    }

    // MARK: Running

    /// Runs this node to the job's end; returns the launcher's exit code (0 for a proxy that ended well).
    /// The launcher's run: how every rank ended.
    func runToOutcome() -> JobOutcome {
        timeLimit = timeLimitSeconds.map { .after(seconds: $0) }
        let code = run()
        return ledger?.outcome(exitCode: code, timedOut: timedOut)
            ?? JobOutcome(hosts: plan.hosts, hostOfRank: plan.hostOfRank, ends: [], exitCode: code, timedOut: timedOut)
    }

    func run(early: [LinkMessage] = []) -> Int32 {
        let relay: SignalRelay
        do {
            relay = try SignalRelay(signals: [SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2])
        } catch {
            notice("cannot watch signals: \(error)")
            return 1
        }
        signal(SIGPIPE, SIG_IGN)
        startChildren()
        startRanks()
        early.forEach(fromParent)
        while !finished {
            pollOnce(relay: relay)
            reap()
            timers()
            flushOutbox()
        }
        ranks.closeAll()
        for child in children { child.link?.finish() }
        parent?.finish()
        if let ledger, report {
            say("report")
            for line in ledger.report() { writeToStandardError("  \(line)\n") }
        }
        if statistics {
            let messages = allLinks.reduce(0) { $0 + $1.messagesSent + $1.messagesReceived }
            say("the launcher handled \(messages) messages on \(allLinks.count) links (tree of depth \(plan.tree.depth), fanout \(plan.tree.fanout))")
        }
        return max(ledger?.exitCode ?? 0, spawnedFailureCode)
    }

    private var finished: Bool {
        let localDone = ranks.allExited && !ranks.outputOpen
        guard localDone, children.allSatisfy(\.finished), spawned.allSatisfy({ $0.status != nil }) else { return false }
        if parent != nil, !sentDone {
            up(.done)
            flushOutbox()
            sentDone = true
        }
        // The bootstraps (ssh, srun, or the proxies themselves) end next; those that linger are killed.
        let lingering = (children + (step.map { [$0] } ?? [])).filter { $0.pid > 0 && $0.bootstrapStatus == nil }
        guard !lingering.isEmpty else { return parent.map { !$0.wantsToWrite } ?? true }
        if bootstrapDeadline == nil { bootstrapDeadline = .after(seconds: 5) }
        if bootstrapDeadline!.hasPassed { lingering.forEach { $0.killBootstrap() } }
        return false
    }

    // MARK: Starting

    private func startChildren() {
        let positions = plan.tree.children(of: position)
        guard !positions.isEmpty else { return }
        if listener == nil {
            do {
                listener = try LinkListener()
            } catch {
                for position in positions {
                    lose(ChildProxy(position: position, host: plan.tree.host(atPosition: position), hostsBelow: plan.tree.hostsBelow(position), startSeconds: 0), "\(error)")
                }
                return
            }
        }
        let parentAddress = "\(hostAddress ?? "127.0.0.1"):\(listener!.port)"
        for position in positions {
            let host = plan.tree.host(atPosition: position)
            let child = ChildProxy(position: position, host: host, hostsBelow: plan.tree.hostsBelow(position), startSeconds: max(60, plan.linkTimeoutSeconds))
            children.append(child)
            // Under Slurm one step starts every proxy; they come to their parents by themselves.
            guard plan.bootstrap.kind != .slurm else { continue }
            if let port = plan.bootstrap.agentPort(for: plan.hosts[host]) {
                do {
                    let request = AgentRequest.startProxy(parent: parentAddress, position: position, jobKey: jobKey.hex)
                    let connection = try AgentClient.open(host: plan.hosts[host], port: port, key: try AgentKey.forThisProcess(), request: request)
                    _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
                    child.errorsFD = connection
                    child.viaAgent = true
                } catch {
                    lose(child, "its agent did not start the proxy: \(error)")
                }
                continue
            }
            let command = plan.bootstrap.command(host: plan.hosts[host], position: position, parent: parentAddress)
            do {
                try spawnBootstrap(command, for: child)
            } catch {
                lose(child, "cannot start its proxy: \(error)")
            }
        }
        if plan.bootstrap.kind == .slurm && self.position == 0 {
            let step = ChildProxy(position: -1, host: -1, hostsBelow: Array(plan.hosts.indices), startSeconds: 0)
            self.step = step
            do {
                try spawnBootstrap(plan.bootstrap.slurmStep(hosts: plan.hosts, parent: parentAddress), for: step)
            } catch {
                for child in children { lose(child, "cannot start the srun step: \(error)") }
            }
        }
    }

    /// Starts the process that brings up a child's proxy (or, under Slurm, all of them), its stderr on a pipe.
    /// The job key goes in its environment (which Slurm exports to the step's
    /// tasks) and on its stdin (which ssh carries, encrypted, to a remote proxy).
    private func spawnBootstrap(_ command: [String], for child: ChildProxy) throws {
        let errors = try HostRanks.makePipe()
        defer { close(errors.write) }
        _ = fcntl(errors.read, F_SETFL, fcntl(errors.read, F_GETFL) | O_NONBLOCK)
        let keyLine = try HostRanks.makePipe()
        defer { close(keyLine.read) }
        // 65 bytes fit in any pipe's buffer: the write does not wait for the reader.
        let written = writeAll(keyLine.write, Array((jobKey.hex + "\n").utf8))
        close(keyLine.write)
        guard written else { throw TrellisError(.launchFailed, "cannot hand the job key to a proxy", underlying: SystemCallError("write", errno: errno)) }
        var environment = ProcessEnvironment.current()
        environment["TRELLIS_LAUNCHER_PID"] = String(getpid())
        environment[JobKey.environmentVariable] = jobKey.hex
        do {
            // A forked proxy dies with this node, even by SIGKILL (one started
            // over ssh or srun ends when its parent link does).
            child.pid = try ProcessSpawner.spawn(
                arguments: command, environment: environment,
                descriptors: ChildDescriptors(standardInput: keyLine.read, standardOutput: errors.write, standardError: errors.write),
                processGroup: 0, diesWithParent: command.first == plan.bootstrap.proxyCommand.first)
        } catch {
            close(errors.read)
            throw error
        }
        child.errorsFD = errors.read
    }

    private func startRanks() {
        guard localHost != nil, !plannedRanks.isEmpty else { return }
        var base = ProcessEnvironment.current()
        for (key, value) in plan.environment { base[key] = value }
        // Ranks of a job over hosts listen where the other hosts reach this one.
        if plan.tree.hostCount > 0, plan.bootstrap.kind != .fork, let hostAddress, plan.environment["TRELLIS_HOST"] == nil {
            base["TRELLIS_HOST"] = hostAddress
        }
        base["PMI_SIZE"] = String(plan.rankCount)
        base["TRELLIS_SIZE"] = String(plan.rankCount)
        // The name the job's host list gives this host (cluster tools name hosts by it).
        if plan.tree.hostCount > 0, let localHost { base["TRELLIS_HOST_NAME"] = plan.hosts[localHost] }
        base["TRELLIS_LAUNCHER_PID"] = String(getpid())
        var pmiPort: String?
        if plan.pmiPort {
            do {
                let listener = try LinkListener(host: "127.0.0.1")
                pmiListener = listener
                pmiPort = "127.0.0.1:\(listener.port)"
            } catch {
                up(.abort(rank: plannedRanks[0], code: 1, message: "cannot listen for PMI connections\(onThisHost): \(error)"))
                return
            }
        }
        // What Hydra's proxies tell MPICH's ranks about their host: how many
        // ranks share it, and (for ch3) the name the other hosts know it by.
        base["MPI_LOCALNRANKS"] = String(plannedRanks.count)
        if plan.bootstrap.kind != .fork || plan.tree.hostCount == 0, let localHost, base["MPIR_CVAR_CH3_INTERFACE_HOSTNAME"] == nil {
            base["MPIR_CVAR_CH3_INTERFACE_HOSTNAME"] = plan.hosts[localHost]
        }
        for (index, rank) in plannedRanks.enumerated() {
            var environment = base
            environment["PMI_RANK"] = String(rank)
            environment["TRELLIS_RANK"] = String(rank)
            environment["MPI_LOCALRANKID"] = String(index)
            let input: HostRanks.Input? = rank == 0 ? (parent == nil ? .inherited : .forwarded) : nil
            let program = plan.applications[plan.applicationNumber(ofRank: rank)].program
            do {
                try ranks.start(
                    rank: rank, program: program, environment: environment, input: input, pmiPort: pmiPort, partialLineDelay: parent == nil ? 0 : 0.2,
                    deliver: { [unowned self] rank, stream, bytes in self.up(.output(rank: rank, stream: stream, bytes: bytes)) })
            } catch {
                // As a shell says it: 127 for a program that is not there, 126 for one that cannot run.
                let failure = (error as? TrellisError)?.underlying as? SystemCallError
                let reason = failure.map { String(cString: strerror($0.errno)) } ?? "\(error)"
                up(.abort(rank: rank, code: failure?.errno == ENOENT ? 127 : 126, message: "cannot start '\(program[0])' for rank \(rank)\(onThisHost): \(reason)"))
                return
            }
        }
    }

    private var onThisHost: String {
        guard let localHost, plan.tree.hostCount > 0 else { return "" }
        return " on \(plan.hosts[localHost])"
    }

    // MARK: The loop

    private func pollOnce(relay: SignalRelay) {
        var watched: [pollfd] = [pollfd(fd: relay.readFD, events: Int16(POLLIN), revents: 0)]
        func watch(_ fd: Int32, write: Bool = false) {
            watched.append(pollfd(fd: fd, events: Int16(POLLIN) | (write ? Int16(POLLOUT) : 0), revents: 0))
        }
        if let parent, parent.isOpen { watch(parent.fd, write: parent.wantsToWrite) }
        if let listener { watch(listener.fd) }
        for entry in unidentified where entry.link.isOpen { watch(entry.link.fd) }
        for child in children {
            if let link = child.link, link.isOpen { watch(link.fd, write: link.wantsToWrite) }
            if child.errorsFD >= 0 { watch(child.errorsFD) }
        }
        if let step, step.errorsFD >= 0 { watch(step.errorsFD) }
        for process in ranks.processes where process.pmiOpen { watch(process.pmiFD) }
        for output in ranks.relays where output.isOpen { watch(output.fd) }
        if ranks.wantsToWriteInput { watched.append(pollfd(fd: ranks.inputFD, events: Int16(POLLOUT), revents: 0)) }
        if readsInput { watch(0) }
        if let pmiListener { watch(pmiListener.fd) }
        for job in spawned where job.readyFD >= 0 { watch(job.readyFD) }
        for pending in pmiPending { watch(pending.fd) }
        let count = poll(&watched, nfds_t(watched.count), 100)
        guard count > 0 else { return }
        for entry in watched where entry.revents != 0 {
            if entry.fd == relay.readFD {
                for number in relay.drain() where number != SIGCHLD { received(signal: number) }
            } else if let parent, entry.fd == parent.fd {
                if entry.revents & Int16(POLLOUT) != 0 { parent.flush() }
                for message in parent.receive() { fromParent(message) }
            } else if let listener, entry.fd == listener.fd {
                while let link = listener.accept() {
                    let nonce = LinkHandshake.nonce()
                    link.send(.challenge(nonce: nonce))
                    unidentified.append((link, .now(), nonce))
                }
            } else if let index = unidentified.firstIndex(where: { $0.link.fd == entry.fd }) {
                identify(unidentified[index].link, challenged: unidentified[index].nonce)
            } else if let child = children.first(where: { $0.link?.fd == entry.fd && $0.link?.isOpen == true }) {
                let link = child.link!
                if entry.revents & Int16(POLLOUT) != 0 { link.flush() }
                for message in link.receive() { fromChild(child, message) }
                if !link.isOpen && !child.done { lose(child, link.closeReason) }
            } else if let child = children.first(where: { $0.errorsFD == entry.fd }) {
                for line in child.readErrors() where !line.isEmpty { up(.notice("\(plan.hosts[child.host]): \(line)")) }
                if child.viaAgent, child.errorsFD < 0, child.link == nil, !child.finished {
                    lose(child, "the proxy its agent started ended before it connected back")
                }
            } else if let job = spawned.first(where: { $0.readyFD == entry.fd }) {
                if job.readReady() { answerSpawn(rank: job.rank, error: "") }
            } else if let step, entry.fd == step.errorsFD {
                for line in step.readErrors() where !line.isEmpty { up(.notice("srun: \(line)")) }
            } else if let process = ranks.processes.first(where: { $0.pmiOpen && $0.pmiFD == entry.fd }) {
                serviceBootstrap(process)
            } else if let output = ranks.relays.first(where: { $0.isOpen && $0.fd == entry.fd }) {
                output.pump()
            } else if entry.fd == ranks.inputFD {
                ranks.flushInput()
            } else if readsInput && entry.fd == 0 {
                forwardStandardInput()
            } else if let pmiListener, entry.fd == pmiListener.fd {
                while let fd = pmiListener.acceptDescriptor() { pmiPending.append((fd, PMIMessageFramer(), .now())) }
            } else if let index = pmiPending.firstIndex(where: { $0.fd == entry.fd }) {
                identifyPMIConnection(at: index)
            }
        }
        unidentified.removeAll { !$0.link.isOpen }
    }

    private func timers() {
        ranks.tick()
        if let timeLimit, timeLimit.hasPassed, stopDeadline == nil, !(ranks.allExited && children.allSatisfy(\.finished)) {
            timedOut = true
            say("the time limit of \(Self.seconds(timeLimitSeconds ?? 0)) passed; stopping the job")
            beginStop(SIGTERM)
        }
        if let parent, parent.isOpen, !parent.keepAlive(timeout: plan.linkTimeoutSeconds) {
            abandon(because: "lost the link to its parent: \(parent.closeReason)")
        } else if let parent, !parent.isOpen, !sentDone {
            abandon(because: "lost the link to its parent: \(parent.closeReason)")
        }
        for child in children where !child.finished {
            if let link = child.link {
                if !link.keepAlive(timeout: plan.linkTimeoutSeconds) { lose(child, link.closeReason) }
            } else if child.startDeadline.hasPassed {
                lose(child, "its proxy did not connect back within \(Int(max(60, plan.linkTimeoutSeconds))) s")
            }
        }
        for entry in unidentified where Double(MonotonicClock.nanoseconds() &- entry.since.uptimeNanoseconds) / 1e9 > 30 {
            entry.link.shut("did not say who it is")
        }
        if let deadline = stopDeadline, deadline.hasPassed, !killed {
            if ledger != nil { say("ranks still running after \(plan.graceSeconds)s; killing them") }
            killNow()
        }
        if !ranks.isEmpty && ranks.allExited {
            if drainDeadline == nil {
                // Descendants the ranks left behind in their group go too;
                // then the pipes drain to their end.
                ranks.signal(SIGKILL)
                drainDeadline = .after(seconds: 2)
            } else if drainDeadline!.hasPassed {
                ranks.finishOutput()
            }
        }
    }

    // MARK: Links

    /// Takes a child that proved the job's key (its hello or join answers
    /// `challenged`): answers with this node's proof, seals the link and
    /// sends the plan. Anything else is refused and the link closed.
    private func identify(_ link: Link, challenged parentNonce: [UInt8]) {
        for message in link.receive() {
            switch message {
            case .hello(let position, let childNonce, let proof):
                let claim = LinkHandshake.claim(position: position)
                guard proves(proof, claim, parentNonce, childNonce, from: link) else { return }
                guard let child = children.first(where: { $0.position == position }), child.link == nil, !child.lost else { break }
                welcome(link, claim, parentNonce, childNonce)
                link.send(.plan(plan))
                child.attach(link)
                return
            case .join(let host, let port, let childNonce, let proof) where self.position == 0:
                let claim = LinkHandshake.claim(host: host, port: port)
                guard proves(proof, claim, parentNonce, childNonce, from: link) else { return }
                guard let index = plan.hosts.firstIndex(where: { Self.sameHost($0, host) }) else { break }
                let position = plan.tree.position(ofHost: index)
                guard joined[position] == nil else { break }
                welcome(link, claim, parentNonce, childNonce)
                joined[position] = "\(link.remoteHost):\(port)"
                if let child = children.first(where: { $0.position == position }), child.link == nil, !child.lost {
                    link.send(.reparent(position: position, parent: ""))
                    link.send(.plan(plan))
                    child.attach(link)
                } else {
                    awaitingParent.append((position, link))
                }
                sendJoinedProxiesOn()
                return
            default:
                break
            }
            logger.warning("refused a connection from \(link.remoteHost): it is not one of this node's proxies (said \(message.name))")
            refuse(link)
            return
        }
        if !link.isOpen { unidentified.removeAll { $0.link === link } }
    }

    /// Whether a child's proof holds; a link whose does not is refused, with the address it came from.
    private func proves(_ proof: [UInt8], _ claim: String, _ parentNonce: [UInt8], _ childNonce: [UInt8], from link: Link) -> Bool {
        let expected = LinkHandshake.childProof(jobKey, parentNonce: parentNonce, childNonce: childNonce, claim: claim)
        guard AgentHandshake.same(proof, expected) else {
            logger.warning("refused a connection from \(link.remoteHost): it did not prove it holds the job's key")
            refuse(link)
            return false
        }
        return true
    }

    private func refuse(_ link: Link) {
        unidentified.removeAll { $0.link === link }
        link.shut("refused")
    }

    /// Answers a child that proved the key, and seals the link from here on.
    private func welcome(_ link: Link, _ claim: String, _ parentNonce: [UInt8], _ childNonce: [UInt8]) {
        unidentified.removeAll { $0.link === link }
        allLinks.append(link)
        link.send(.welcome(proof: LinkHandshake.parentProof(jobKey, parentNonce: parentNonce, childNonce: childNonce, claim: claim)))
        link.startSealing(jobKey, parentNonce: parentNonce, childNonce: childNonce, asParent: true)
    }

    /// Proxies Slurm started go on to their parents once those have joined too.
    private func sendJoinedProxiesOn() {
        awaitingParent.removeAll { waiting in
            guard let parent = plan.tree.parent(of: waiting.position), let address = joined[parent] else { return false }
            waiting.link.send(.reparent(position: waiting.position, parent: address))
            waiting.link.finish()
            return true
        }
    }

    /// Slurm names a node as its slurm.conf does, which may be the short form of the name given here.
    static func sameHost(_ listed: String, _ reported: String) -> Bool {
        listed == reported || listed.split(separator: ".").first == reported.split(separator: ".").first
    }

    /// A rank's first words on a `PMI_PORT` connection are `cmd=initack pmiid=RANK`.
    private func identifyPMIConnection(at index: Int) {
        var pending = pmiPending[index]
        var chunk = [UInt8](repeating: 0, count: 1024)
        let count = chunk.withUnsafeMutableBytes { read(pending.fd, $0.baseAddress!, $0.count) }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
        var accepted = false
        if count > 0 {
            pending.framer.append(chunk[..<count])
            pmiPending[index] = pending
            guard let message = try? pending.framer.next() else {
                if !pending.framer.isBroken { return }
                close(pending.fd)
                pmiPending.remove(at: index)
                return
            }
            if message.command.name == "initack", let id = message.command["pmiid"].flatMap(Int.init) {
                accepted = ranks.attach(pending.fd, id: id, size: plan.rankCount)
            }
            if !accepted { logger.warning("a PMI connection that is none of this host's ranks was refused: \(message.command)") }
        }
        if !accepted { close(pending.fd) }
        pmiPending.remove(at: index)
    }

    private func fromParent(_ message: LinkMessage) {
        switch message {
        case .fenceRelease(let puts): release(puts)
        case .input(let bytes): routeInput(.input(bytes))
        case .inputEnd: routeInput(.inputEnd)
        case .signal(let number):
            children.forEach { $0.send(.signal(number)) }
            ranks.signal(number)
        case .stop(let number): beginStop(number)
        case .kill: killNow()
        case .spawnResult(let rank, let error): answerSpawn(rank: rank, error: error)
        case .batch(let messages): messages.forEach(fromParent)
        default: break
        }
    }

    private func fromChild(_ child: ChildProxy, _ message: LinkMessage) {
        switch message {
        case .fenceEnter(let puts):
            childFences[child.position] = puts
            checkFence()
        case .done:
            child.done = true
            checkFence()
        case .output, .rankEnded, .abort, .lost, .notice, .spawn: up(message)
        case .batch(let messages): messages.forEach { fromChild(child, $0) }
        default: break
        }
    }

    /// A child's subtree is gone: its hosts are reported lost, its bootstrap ends.
    private func lose(_ child: ChildProxy, _ reason: String) {
        guard !child.finished else { return }
        child.lost = true
        if !children.contains(where: { $0 === child }) { children.append(child) }
        child.link?.shut(reason)
        _ = child.readErrors()
        let said = child.complaints
        child.killBootstrap()
        let explained = said.isEmpty ? reason : "\(reason) (\(said.joined(separator: "; ")))"
        up(.lost(hosts: child.hostsBelow, reason: "its proxy on \(plan.hosts[child.host]): \(explained)"))
        checkFence()
    }

    /// This proxy's parent is gone: nothing it runs may outlive it.
    private func abandon(because reason: String) {
        guard !sentDone else { return }
        sentDone = true
        logger.warning("\(reason); ending this host's ranks")
        killNow()
        for child in children where !child.finished {
            child.link?.finish()
            child.killBootstrap()
            child.lost = true
        }
        ranks.finishOutput()
    }

    // MARK: Upward

    /// Passes a message towards the launcher (with the others of this turn), or acts on it at the launcher.
    private func up(_ message: LinkMessage) {
        if parent != nil {
            outbox.append(message)
            return
        }
        switch message {
        case .output(let rank, let stream, let bytes):
            if let watcher { watcher.output(rank: rank, stream: stream, bytes: bytes) } else { writer.write(rank: rank, stream: stream, bytes) }
        case .rankEnded(let rank, let pid, let status, let unfinalized):
            act(on: ledger!.ranksEnded([(rank, JobLedger.End(pid: pid, status: status, unfinalized: unfinalized))]))
            watcher?.rankEnded(rank: rank, status: status)
        case .abort(let rank, let code, let text):
            act(on: ledger!.aborted(rank: rank, code: code, message: text))
        case .lost(let hosts, let reason):
            act(on: ledger!.hostsLost(hosts, reason: reason))
        case .notice(let text):
            say(text)
        case .spawn(let rank, let programs):
            startSpawnedJob(rank: rank, programs: programs)
        case .batch(let messages):
            messages.forEach(up)
        default:
            break
        }
    }

    private func flushOutbox() {
        guard let parent, !outbox.isEmpty else { return }
        parent.send(outbox.count == 1 ? outbox[0] : .batch(outbox))
        outbox.removeAll()
    }

    private func act(on verdict: JobLedger.Verdict) {
        verdict.messages.forEach(say)
        if let signal = verdict.stop { beginStop(signal) }
    }

    // MARK: PMI

    private func serviceBootstrap(_ process: RankProcess) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while process.pmiOpen {
            let count = chunk.withUnsafeMutableBytes { read(process.pmiFD, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN { return }
            guard count > 0 else {
                close(process.pmiFD)
                process.pmiOpen = false
                return
            }
            process.pmiInput.append(chunk[..<count])
            while process.pmiOpen {
                let message: (command: PMICommand, wire: PMIWire)?
                do {
                    message = try process.pmiInput.next()
                } catch {
                    logger.warning("rank \(process.rank) sent malformed PMI: \(error)")
                    if process.pmiInput.isBroken {
                        // Nothing after it can be read: the rank's next PMI call fails instead of waiting.
                        close(process.pmiFD)
                        process.pmiOpen = false
                        return
                    }
                    continue
                }
                guard let (command, wire) = message else { break }
                process.pmiWire = wire
                if command.name == "init" || command.name == "fullinit" { process.sentInit = true }
                for event in pmi.handle(command, from: process.rank, wire: wire) { perform(event) }
            }
        }
    }

    private func perform(_ event: PMIServerState.Event) {
        switch event {
        case .reply(let rank, let command): ranks.reply(to: rank, command)
        case .abort(let rank, let code, let text): up(.abort(rank: rank, code: code, message: text))
        case .fenceEntered(let puts):
            localFence = puts
            checkFence()
        case .spawn(let rank, let programs):
            up(.spawn(rank: rank, programs: programs))
        }
    }

    /// When this host's ranks and every live child's subtree are in the
    /// fence, their puts go up as one message; at the launcher, the fence
    /// is released down the tree.
    private func checkFence() {
        let localIn = plannedRanks.isEmpty || localFence != nil
        // A subtree whose ranks have all ended, or that is lost, enters no more fences.
        let live = children.filter { !$0.finished }
        guard localIn, live.allSatisfy({ childFences[$0.position] != nil }) else { return }
        // Something must have entered: a node with no ranks of its own waits for its children.
        guard localFence != nil || !childFences.isEmpty else { return }
        var puts = localFence ?? [:]
        for (_, subtree) in childFences { puts.merge(subtree) { _, new in new } }
        localFence = nil
        childFences.removeAll()
        if parent != nil {
            up(.fenceEnter(puts: puts))
        } else {
            release(puts)
        }
    }

    private func release(_ puts: [String: String]) {
        for child in children where !child.finished { child.send(.fenceRelease(puts: puts)) }
        for event in pmi.releaseFence(puts: puts) { perform(event) }
        if readyFD >= 0 {
            writeAll(readyFD, Array("ready\n".utf8))
            close(readyFD)
            readyFD = -1
        }
    }

    // MARK: Spawn

    /// The launcher starts the job a rank asked for; the rank is answered when it is up or has failed.
    private func startSpawnedJob(rank: Int, programs: [PMISpawnProgram]) {
        guard stopDeadline == nil else {
            answerSpawn(rank: rank, error: "the job is stopping")
            return
        }
        do {
            spawned.append(try SpawnedJob(rank: rank, programs: programs, plan: plan))
        } catch {
            answerSpawn(rank: rank, error: "cannot start the spawned job: \(error)")
        }
    }

    /// The child whose subtree holds `host`.
    private func child(towards host: Int) -> ChildProxy? {
        guard let next = plan.tree.child(of: position, towards: host) else { return nil }
        return children.first { $0.position == next }
    }

    /// The answer to a rank's spawn goes to its host: here, or down the branch that leads there.
    private func answerSpawn(rank: Int, error: String) {
        guard plan.hostOfRank.indices.contains(rank) else { return }
        let host = plan.hostOfRank[rank]
        if host == localHost {
            for event in pmi.spawnFinished(rank: rank, error: error.isEmpty ? nil : error) { perform(event) }
        } else if let child = child(towards: host) {
            child.send(.spawnResult(rank: rank, error: error))
        }
    }

    // MARK: Input, signals, ends

    private func forwardStandardInput() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
        if count < 0 && (errno == EINTR || errno == EAGAIN) { return }
        if count > 0 {
            routeInput(.input(Array(chunk[..<count])))
        } else {
            readsInput = false
            routeInput(.inputEnd)
        }
    }

    /// Stdin goes to rank 0: here, or down the branch that leads to its host.
    private func routeInput(_ message: LinkMessage) {
        let host = plan.hostOfRank[0]
        if host == localHost {
            if case .input(let bytes) = message { ranks.forwardInput(bytes) } else { ranks.endInput() }
        } else if let child = child(towards: host) {
            child.send(message)
        }
    }

    private func received(signal number: Int32) {
        if number == SIGUSR1 || number == SIGUSR2 {
            children.forEach { $0.send(.signal(number)) }
            ranks.signal(number)
            spawned.forEach { $0.signal(number) }
            return
        }
        interruptCount += 1
        if interruptCount > 1 {
            if ledger != nil { say("\(signalName(number)) again; killing the job") }
            killNow()
            return
        }
        if var ledger {
            let verdict = ledger.interrupted(by: number)
            self.ledger = ledger
            act(on: verdict)
        } else {
            beginStop(number)
        }
    }

    private func reap() {
        var ended: [RankProcess] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { break }
            if let process = ranks.ended(pid: pid, status: status) {
                // What it said to PMI before it ended counts (a finalize, an abort).
                if process.pmiOpen { serviceBootstrap(process) }
                ended.append(process)
            } else if let job = spawned.first(where: { $0.pid == pid }) {
                job.status = status
                // A job that never came up is the spawning rank's error to handle; one that failed later is the job's.
                let answer = job.endedBeforeReady()
                if let answer { answerSpawn(rank: job.rank, error: answer) }
                if status != 0 && answer?.isEmpty != false {
                    say("the job rank \(job.rank) spawned (\(job.summary)) \(RankProcess.describe(status: status))")
                    spawnedFailureCode = max(spawnedFailureCode, RankProcess.shellCode(status: status))
                }
            } else if let step, pid == step.pid {
                step.bootstrapStatus = status
                _ = step.readErrors()
                let said = step.complaints.isEmpty ? "" : " (\(step.complaints.joined(separator: "; ")))"
                for child in children where child.link == nil && !child.finished {
                    lose(child, "the srun step \(RankProcess.describe(status: status)) before this proxy connected back\(said)")
                }
            } else if let child = children.first(where: { $0.pid == pid }) {
                child.bootstrapStatus = status
                if child.link == nil && !child.finished {
                    _ = child.readErrors()
                    lose(child, "its bootstrap \(RankProcess.describe(status: status)) before the proxy connected back")
                }
            }
        }
        for process in ended {
            up(.rankEnded(
                rank: process.rank, pid: process.pid, status: process.exitStatus!,
                unfinalized: process.sentInit && !pmi.finalized.contains(process.rank)))
        }
    }

    private func beginStop(_ signal: Int32) {
        guard stopDeadline == nil else { return }
        stopDeadline = .after(seconds: plan.graceSeconds)
        ledger?.stopping(with: signal)
        for child in children where !child.finished { child.send(.stop(signal)) }
        ranks.signal(signal)
        spawned.forEach { $0.signal(signal) }
    }

    private func killNow() {
        killed = true
        if stopDeadline == nil { stopDeadline = .now() }
        ledger?.stopping(with: SIGKILL)
        ledger?.killingNow()
        for child in children where !child.finished { child.send(.kill) }
        ranks.signal(SIGKILL)
        spawned.forEach { $0.signal(SIGKILL) }
    }

    private func notice(_ text: String) { up(.notice(text)) }

    private func say(_ text: String) {
        if let watcher { watcher.notice(text) } else { writeToStandardError("trellis run: \(text)\n") }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
