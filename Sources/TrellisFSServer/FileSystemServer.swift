import Glibc
import Synchronization
import Logging
import NIOCore
import TrellisCore
import TrellisFSConnection
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime
import TrellisSystem

/// One running server of a file system: a runtime singleton on the
/// server's configured address, with a serving loop for the objects it is
/// primary of and, with replicas, one more for each replica group it keeps a
/// copy of (on a thread of its own, under `replicaServiceName`), which takes
/// the changes that group's primary sends.
public final class FileSystemServer: @unchecked Sendable {
    /// The file system it serves part of.
    public let configuration: FileSystemConfiguration
    /// Which server of `configuration` it is.
    public let index: Int
    private let runtime: Runtime
    private let logger: Logger
    /// The loop of its own group, which clients use.
    private let loop: ServingLoop
    /// The loops of the other groups it keeps copies of.
    private let copies: [ServingLoop]
    /// With replicas: a watch over each group it has a copy of.
    private let watches: [FailoverWatch]
    /// Set when `run` ends, for its helper threads.
    private let stopping = Atomic<Bool>(false)
    /// With replicas: the loop that answers other servers' probes and votes.
    private let watchLoop: ServingLoop?
    private var handler: RequestHandler { loop.handler }

    /// Opens server `index`'s storage (prepared by `trellis mkfs`) and joins the runtime as a singleton on its configured address; serving starts with `run`.
    public init(configuration: FileSystemConfiguration, index: Int, logger: Logger = Logger(label: "trellis.fs.server")) throws {
        guard configuration.servers.indices.contains(index) else {
            throw FSError(.invalidArgument, "server index \(index) is outside 0 ..< \(configuration.servers.count) of \(configuration.name)")
        }
        self.configuration = configuration
        self.index = index
        self.logger = logger
        let placement = try configuration.placement()
        // Checked before the runtime starts, so a folder that is not ready costs nothing.
        _ = try ServerStorage.open(configuration, server: index)
        // A server listens on its configured address (TRELLIS_HOST, when set, overrides it).
        runtime = try Runtime.initialize(
            asSingleton: true, host: ProcessEnvironment.value("TRELLIS_HOST") ?? (try configuration.listenAddress(ofServer: index)),
            authentication: try Self.authentication(of: configuration, server: index, logger: logger))
        let servers = placement.members.enumerated().map { group, members in
            ServerDescription(
                index: UInt32(group), serviceName: configuration.copyServiceName(group: group, server: members[0]), portName: "",
                host: configuration.servers[members[0]].host,
                copies: members.dropFirst().map { configuration.replicaServiceName(group: group, server: $0) })
        }
        let fileSystem = try FSConfiguration(name: configuration.name, servers: servers, defaultDistribution: try configuration.defaultDistribution(),
            durability: configuration.durability.rawValue, dataReplicas: configuration.dataReplicas.map(UInt32.init))
        // A process cannot connect to its own ports: a group this server holds a copy of is reached at its
        // other copies (or, while this copy is its primary, served here: `serveLocally`).
        let ownNames = Set(placement.groups(of: index).map { configuration.copyServiceName(group: $0.group, server: index) })
        let signer = try Self.capabilitySigner(of: configuration, server: index, clusterKey: runtime.clusterKey)
        let identity = try Self.identityPolicy(of: configuration, server: index, logger: logger)
        let serversCapability: @Sendable () -> Capability? = { signer?.serversCapability(issuer: index, now: .now()) }
        let peers = PeerLinks(
            runtime: runtime,
            serviceNames: servers.map { server in
                let others = server.candidates.filter { !ownNames.contains($0) }
                return others.isEmpty ? server.candidates : others
            }, serversCapability: serversCapability)
        var loops: [ServingLoop] = []
        var watches: [FailoverWatch] = []
        let stoppedCleanly = ServerStorage.takeCleanStopMark(configuration, server: index)
        do {
            let replication: ReplicationContext? = placement.isReplicated
                ? ReplicationContext(
                    server: index, placement: placement,
                    epochs: try GroupEpochs(path: configuration.servers[index].storage + "/group-epochs.json", placement: placement), runtime: runtime,
                    probeSeconds: min(1, configuration.failoverSeconds / 2), changeSeconds: configuration.failoverSeconds, resyncBytesPerSecond: configuration.resyncMiBPerSecond.map { $0 * 1_048_576 },
                    copyServiceName: { group, server in configuration.copyServiceName(group: group, server: server) },
                    watchServiceName: { configuration.watchServiceName(ofServer: $0) }, serversCapability: serversCapability)
                : nil
            for (group, place) in placement.groups(of: index) {
                // Lines to a list of secondaries of this group, made when this copy is (or becomes) its primary.
                let linesTo: @Sendable ([Int], Bool) -> Replicator? = { [runtime] members, inStep in
                    replication.map { replication in
                        let requestIDs = RequestIDSource()
                        return Replicator(
                            group: group, secondaries: members, inStep: inStep, timeoutSeconds: configuration.failoverSeconds,
                            startCompletion: { runtime.startGeneralizedRequest("group \(group)'s change on its way to the secondaries") }
                        ) { member in
                            replication.line(toCopyOf: group, on: member, requestIDs: requestIDs, resendsAfterLoss: false)
                        }
                    }
                }
                // A group that failed over has the members its newest epoch names, as this server last knew them.
                let members = replication?.epochs.entry(group)?.members ?? placement.members[group]
                // A primary that crashed may hold changes it never passed on: it hands its group over (`FailoverWatch`).
                let handsOver = replication != nil && members.first == index && members.count > 1 && !stoppedCleanly
                let isPrimary = members.first == index && !handsOver, isMember = members.contains(index) && !handsOver
                // By placement, not the current members: a primary left alone keeps a replicator, which its copies' resyncs need.
                let secondaries = Secondaries(isPrimary && placement.copies(ofGroup: group) > 1 ? linesTo(Array(members.dropFirst()), true) : nil)
                let committed: (@Sendable (Changeset) -> Void)? = replication == nil ? nil : { @Sendable changes in secondaries.startCommit(changes) }
                // Only a primary passes its changes on; a secondary's commits (its primary's changes) are not recorded.
                let stores = try ServerStorage.open(
                    configuration, server: index, group: group, committed: committed, recordsChanges: { secondaries.current != nil })
                stores.bstreams.startMakingSpares()
                let label = place == 0 ? "server \(index) of \(configuration.name)" : "group \(group)'s copy on server \(index) of \(configuration.name)"
                var context = ServerContext(serverIndex: group, configuration: fileSystem, metadata: stores.metadata, bstreams: stores.bstreams)
                context.peers = peers
                context.capabilities = signer
                context.identity = identity
                context.capabilityLifetimeSeconds = Int64(configuration.capabilityLifetimeSeconds)
                context.role = ReplicaRole(primary: isPrimary, member: isMember)
                context.secondaries = replication == nil ? nil : secondaries
                context.replication = replication
                context.log = { [logger] (message: String) in logger.warning("\(label): \(message)") }
                if place == 0, placement.isOwnSet(group), configuration.precreateBatch > 0, configuration.servers.count > 1 {
                    context.pool = try DatafilePool(
                        store: stores.metadata, peers: peers, serverIndex: index, serverCount: configuration.servers.count,
                        batch: configuration.precreateBatch, isServing: { [role = context.role] in role.isPrimary }, log: context.log)
                }
                let handler = RequestHandler(context: context)
                if isPrimary { peers.serveLocally(group, by: handler) }
                loops.append(ServingLoop(
                    handler: handler, runtime: runtime,
                    serviceName: configuration.copyServiceName(group: group, server: index), label: label, logger: logger))
                // A group of one copy has no one to fail over to.
                if let replication, placement.copies(ofGroup: group) > 1 {
                    watches.append(FailoverWatch(
                        group: group, role: context.role, secondaries: secondaries, replication: replication,
                        failoverSeconds: configuration.failoverSeconds, linesTo: linesTo,
                        serving: { primary in peers.serveLocally(group, by: primary ? handler : nil) }, log: context.log,
                        madeAnew: { ServerStorage.isMadeAnew(configuration, server: index) }))
                }
            }
        } catch {
            try? runtime.finalize()
            throw error
        }
        self.watches = watches
        loop = loops[0]
        copies = Array(loops.dropFirst())
        // The epochs are answered for on a loop of their own, which serves no objects (a copy out of its group serves none).
        watchLoop = placement.isReplicated ? { [runtime, logger] in
            var context = loops[0].handler.context
            context.role = ReplicaRole(primary: false, member: false)
            context.secondaries = nil
            context.pool = nil
            return ServingLoop(
                handler: RequestHandler(context: context), runtime: runtime, serviceName: configuration.watchServiceName(ofServer: index),
                label: "the replica-group watch of server \(index) of \(configuration.name)", logger: logger)
        }() : nil
    }

    /// The key a server proves and asks for: `TRELLIS_KEY_FILE`, else the
    /// configuration's `key_file`, else the standard places. Without one it
    /// refuses to start, unless the configuration says `auth = "none"`
    /// (servers that anyone can reach serve anyone; BeeGFS refuses the same
    /// way without its connAuthFile).
    static func authentication(of configuration: FileSystemConfiguration, server index: Int, logger: Logger) throws -> PeerAuthentication {
        guard configuration.authentication == .key else {
            logger.warning("server \(index) of \(configuration.name) runs without authentication (auth = \"none\"): whoever reaches its port is served")
            return .none
        }
        let environment = configuration.keySearchEnvironment(ProcessEnvironment.current())
        guard let path = ClusterKey.locate(environment: environment) else {
            let places = ClusterKey.standardPaths(environment: environment).joined(separator: " or ")
            throw FSError(
                .invalidArgument,
                "server \(index) of \(configuration.name) will not start without a cluster key: none at \(places), and neither TRELLIS_KEY_FILE nor key_file names one. "
                    + "Make one with `trellis keygen \(ClusterKey.standardPaths(environment: environment)[0])` (trellis up makes it on its first run), "
                    + "or set auth = \"none\" in the configuration to serve without authentication")
        }
        do {
            return .key(try ClusterKey.load(from: path))
        } catch let error as TrellisError {
            throw FSError(.invalidArgument, "server \(index) of \(configuration.name): \(error.message)")
        }
    }

    /// What signs and checks this file system's capabilities: nil without
    /// a cluster key (a file system with `auth = "none"` checks none), else
    /// the key in `capability_key_file`, else one derived from the cluster key.
    static func capabilitySigner(of configuration: FileSystemConfiguration, server index: Int, clusterKey: ClusterKey?) throws -> CapabilitySigner? {
        guard let clusterKey else { return nil }
        guard let path = configuration.capabilityKeyFile else { return CapabilitySigner(secret: clusterKey) }
        do {
            return CapabilitySigner(secret: try ClusterKey.load(from: path))
        } catch let error as TrellisError {
            throw FSError(.invalidArgument, "server \(index) of \(configuration.name): capability_key_file: \(error.message)")
        }
    }

    /// Whom this server takes requests to be made for: MUNGE proofs when
    /// the configuration asks (or, with `auto`, when a munged answers here),
    /// and root squashed except from the servers' hosts and those trusted.
    static func identityPolicy(of configuration: FileSystemConfiguration, server index: Int, logger: Logger) throws -> IdentityPolicy {
        let socket = configuration.mungeSocket ?? Munge.socketFromEnvironment
        var proofs = IdentityPolicy.Proofs.claimed
        switch configuration.identity {
        case .claimed: break
        case .auto: if Munge.isRunning(socket: socket) { proofs = .munge(socket: socket) }
        case .munge:
            guard Munge.isRunning(socket: socket) else {
                throw FSError(
                    .invalidArgument,
                    "server \(index) of \(configuration.name) will not start: identity = \"munge\", and no munged answers at \(socket ?? "MUNGE's default socket") "
                        + "(start munged with the cluster's munge.key, or name its socket with munge_socket)")
            }
            proofs = .munge(socket: socket)
        }
        var rootHosts = Set<String>()
        for host in configuration.servers.map(\.host) + configuration.trustedRootHosts {
            do {
                rootHosts.insert(try IPv4Address.resolveHost(host))
            } catch {
                throw FSError(.invalidArgument, "server \(index) of \(configuration.name): host \(host) (a server's, or a trusted root host) does not resolve: \(error)")
            }
        }
        return IdentityPolicy(proofs: proofs, rootSquash: configuration.rootSquash, rootHosts: rootHosts)
    }

    /// Who it takes requests to be made for, in words, for the line it prints when ready.
    public var identitySummary: String {
        let identity = handler.context.identity
        var words: String
        if case .munge(let socket) = identity.proofs {
            words = "takes requests only from clients that prove who they are with MUNGE (munged at \(socket ?? "its default socket"))"
        } else {
            words = "believes the uid and gid its clients state (no munged answers here, or identity = \"claimed\")"
        }
        words += identity.rootSquash
            ? "; root on any other host than \(identity.rootHosts.sorted().joined(separator: ", ")) is taken for nobody"
            : "; root is not squashed (root_squash = false)"
        return words
    }

    /// Storage made anew (a disk replaced, or a file system just made) holds
    /// nothing, while the other members of its groups may still count its
    /// old copies as members in step, which an empty copy must not pass
    /// for: it would serve its own group empty, and fail its primaries'
    /// changes to what it lacks. So it stays silent until its groups can
    /// have gone on without it (`failover_seconds`, the probes that find the
    /// silence and the vote), then learns their newest epochs and is
    /// resynced in full where they did. A file system started for the first
    /// time waits once, every server at once, and no group goes on without
    /// anyone.
    private func waitOutOldCopies() {
        guard !watches.isEmpty, ServerStorage.isMadeAnew(configuration, server: index) else { return }
        let seconds = configuration.failoverSeconds + 4 * min(1, configuration.failoverSeconds / 2)
        logger.info("server \(index) of \(configuration.name): its storage is new; it waits \(seconds) s, so that groups that counted its old copies go on without them")
        let until = MonotonicClock.nanoseconds() &+ UInt64(seconds * 1e9)
        while !stopping.load(ordering: .relaxed), MonotonicClock.nanoseconds() < until { usleep(100_000) }
    }

    /// Storage made anew stops being new once every copy here serves in its group.
    private func startClearingNewness() -> pthread_t? {
        guard ServerStorage.isMadeAnew(configuration, server: index) else { return nil }
        let configuration = configuration, index = index, watches = watches
        return startThread { [self] in
            while !stopping.load(ordering: .relaxed) {
                if watches.allSatisfy(\.servesInGroup) {
                    ServerStorage.clearMadeAnew(configuration, server: index)
                    return
                }
                usleep(200_000)
            }
        }
    }

    /// Asks `run` to return after the requests in hand (safe from any thread).
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        loop.stop()
        for copy in copies { copy.stop() }
        watchLoop?.stop()
        for watch in watches { watch.stop() }
    }

    /// Serves until `stop`; `ready` is called with the port name once clients can connect.
    /// `metricsAddress`, when given, is published beside the port, for `trellis fs top` to find.
    public func run(metricsAddress: String? = nil, ready: (String) -> Void = { _ in }) throws {
        waitOutOldCopies()
        if let metricsAddress { try runtime.publish(name: configuration.metricsServiceName(ofServer: index), port: metricsAddress) }
        // The copies serve first, so that this server's own changes, and its peers', find them; this
        // server's own objects once it has learned whether its groups went on without it while it was away.
        let watchService = watchLoop.flatMap { [logger] watchLoop in
            startThread(named: "watch service") {
                do {
                    try ServingThread.serve(main: watchLoop, progress: .leavesPollingToOthers, logger: logger)
                } catch {
                    logger.error("\(watchLoop.serviceName) stopped: \(error)")
                }
            }
        }
        let learned = runtime.startGeneralizedRequest("the newest epochs of server \(index)'s groups")
        let learn: @Sendable () -> Void = { [watches] in
            for watch in watches { watch.learnNewestEpoch() }
            learned.complete()
        }
        let learner = startThread(named: "epochs", learn)
        if learner == nil { learn() }
        var watchThreads: [pthread_t] = []
        var newness: pthread_t?
        let served = Result {
            try ServingThread.serve(
                copies: copies, main: loop, after: learned,
                opening: { [self] in
                    watchThreads = watches.compactMap { watch in startThread(named: "failover watch") { watch.run() } }
                    newness = startClearingNewness()
                    handler.context.pool?.start()
                }, ready: ready, logger: logger)
        }
        // A refill from a peer that stopped first must not hold this stop until its deadline;
        // and none starts after that (its datafiles would be made and never pooled).
        handler.context.pool?.requestStop()
        handler.context.peers?.stopWaiting()
        handler.context.pool?.stop()
        watchLoop?.stop()
        for watch in watches { watch.stop() }
        stopping.store(true, ordering: .relaxed)
        for thread in watchThreads + [newness, learner, watchService].compactMap({ $0 }) { pthread_join(thread, nil) }
        // Every change passed on to every secondary: the next start may serve at the same epochs.
        let passedOn = ([loop] + copies).allSatisfy { served in
            !served.handler.context.role.isPrimary || served.handler.context.secondaries.map { (try? $0.catchUp()) != nil } ?? true
        }
        for served in [loop] + copies { served.handler.context.secondaries?.replace(with: nil) }
        if passedOn { ServerStorage.markCleanStop(configuration, server: index) }
        handler.context.peers?.close()
        if metricsAddress != nil { try? runtime.unpublish(name: configuration.metricsServiceName(ofServer: index)) }
        try runtime.finalize()
        try served.get()
    }
}
