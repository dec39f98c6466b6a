import CTrellisSystem
import Glibc
import Logging
import Synchronization
import TrellisCore
import TrellisHosts
import TrellisNames
import TrellisSystem

/// One process's membership in Trellis: its progress engine and its world.
///
/// Started by `trellis run`, a process joins its job through the launcher's
/// key-value service; started any other way, it is a singleton whose world
/// has one rank.
///
/// ```swift
/// let runtime = try Runtime.initialize()
/// defer { try? runtime.finalize() }
/// let sum = try runtime.world.allreduce([runtime.world.rank], .sum)
/// ```
public final class Runtime: Sendable {
    /// Every process of the job, as MPI_COMM_WORLD; a singleton's world has one rank.
    public let world: Communicator
    /// A communicator of this process alone (MPI_COMM_SELF), for connecting
    /// and accepting one process at a time.
    public let selfCommunicator: Communicator
    /// For processes started by `spawn`: the intercommunicator to the
    /// parents (MPI_Comm_get_parent); nil otherwise.
    public let parent: Communicator?
    /// This process's identity, unique across every process that runs; groups list members by it.
    public let processID: ProcessID
    /// True when no launcher started this process.
    public let isSingleton: Bool
    /// The address other processes reach this one at.
    public let address: String
    /// The key every peer proves it holds (nil: this process authenticates none).
    public let clusterKey: ClusterKey?
    let engine: ProgressEngine
    private let pmi: PMIClient?
    /// Made on first use of publish / lookup.
    let names = Mutex<NamePublisher?>(nil)

    private init(
        world: Communicator, processID: ProcessID, isSingleton: Bool, address: String, engine: ProgressEngine, pmi: PMIClient?,
        parent: Communicator?, clusterKey: ClusterKey?
    ) {
        self.clusterKey = clusterKey
        self.world = world
        self.parent = parent
        selfCommunicator = Communicator(
            engine: engine, context: ContextID(owner: processID.rawValue, serial: engine.allocateContextSerials(count: 1)),
            group: Group(members: [processID]), rank: 0)
        self.processID = processID
        self.isSingleton = isSingleton
        self.address = address
        self.engine = engine
        self.pmi = pmi
    }

    /// Joins the job this process was launched in, or starts a singleton.
    /// Limits come from `TRELLIS_*` environment variables unless given.
    /// `asSingleton` ignores a launcher and starts a world of one; a process
    /// may hold several runtimes that way (load generators, tests).
    /// `host`: the address to listen on, over `TRELLIS_HOST` and the launcher's choice.
    /// `authentication`: the cluster key every peer must prove it holds
    /// (and this process proves to them); by default the one the
    /// environment names or the standard place holds (`PeerAuthentication`).
    public static func initialize(
        limits: RuntimeLimits? = nil, asSingleton: Bool = false, host listenHost: String? = nil,
        authentication: PeerAuthentication = .fromEnvironment, logger: Logger = Logger(label: "trellis.runtime")
    ) throws -> Runtime {
        var environment = ProcessEnvironment.current()
        if asSingleton {
            environment["PMI_FD"] = nil
            environment["PMI_PORT"] = nil
        }
        let limits = try limits ?? RuntimeLimits.fromEnvironment(environment)
        let processID = ProcessID.generate()
        var launched: (client: PMIClient, rank: Int, size: Int)?
        if let fdText = environment["PMI_FD"], let fd = Int32(fdText),
            let rankText = environment["PMI_RANK"], let rank = Int(rankText),
            let sizeText = environment["PMI_SIZE"], let size = Int(sizeText), size > 0, (0..<size).contains(rank)
        {
            launched = (PMIClient(fd: fd), rank, size)
        } else if let port = environment["PMI_PORT"], let id = environment["PMI_ID"] {
            launched = try PMIClient.connect(port: port, id: id)
        }
        var kvs = ""
        var host = listenHost ?? environment["TRELLIS_HOST"] ?? "127.0.0.1"
        if let (client, _, size) = launched {
            try client.initialize()
            kvs = try client.kvsName()
            // Under a launcher that spreads the job over hosts without naming
            // this host's address (Hydra, Slurm), listen where the others reach it.
            if listenHost == nil, environment["TRELLIS_HOST"] == nil, let mapping = try? client.get(kvs: kvs, key: "PMI_process_mapping"),
                let hosts = try? Placement.hostOfRank(fromProcessMapping: mapping, ranks: size), Set(hosts).count > 1
            {
                host = try IPv4Address.ofThisHost(named: environment["MPIR_CVAR_CH3_INTERFACE_HOSTNAME"])
            }
        }
        // A process whose name service is on another host (a client of a file
        // system on other nodes) listens where peers there can dial it back,
        // not on loopback: a server that must answer after the client's own
        // connection closed opens one to the address the client gave.
        if listenHost == nil, environment["TRELLIS_HOST"] == nil, host == "127.0.0.1",
            let names = try? NameServiceLocation.resolve(environment: environment).address,
            let local = IPv4Address.localAddress(toward: names), !local.hasPrefix("127.")
        {
            host = local
        }
        if let text = environment["TRELLIS_SOCKET_BUFFER_BYTES"], let bytes = Int(text) { Sockets.bufferBytes = bytes }
        if let text = environment["TRELLIS_FAILURE_DETECTION_SECONDS"], let seconds = Double(text) { Sockets.failureDetectionSeconds = seconds }
        if environment["TRELLIS_MALLOC_TUNING"] != "0" { trellis_keep_large_allocations(1 << 30) }
        let key = try authentication.key(environment: environment)
        let transport = try SocketTransport(
            localID: processID, host: host, maximumMessageBytes: limits.maximumMessageBytes, key: key,
            lanesEnabled: SocketTransport.allowsLanes(environment["TRELLIS_TRANSPORTS"]), logger: logger)
        let engine = ProgressEngine(processID: processID, limits: limits, transport: transport, launcher: launched?.client, logger: logger)

        let world: Communicator
        var pmi: PMIClient?
        if let (client, rank, size) = launched {
            try client.put(kvs: kvs, key: "trellis-\(rank)", value: "\(String(processID.rawValue, radix: 16))@\(transport.localAddress)")
            try client.barrier()
            var members: [ProcessID] = []
            for peer in 0..<size {
                let value = try client.get(kvs: kvs, key: "trellis-\(peer)")
                guard let at = value.firstIndex(of: "@"), let raw = UInt64(value[..<at], radix: 16) else {
                    throw TrellisError(.bootstrapFailed, "rank \(peer) published a malformed address '\(value)'")
                }
                let member = ProcessID(rawValue: raw)
                transport.setAddress(String(value[value.index(after: at)...]), for: member)
                members.append(member)
            }
            pmi = client
            world = Communicator(
                engine: engine, context: ContextID(owner: members[0].rawValue, serial: 0), group: Group(members: members), rank: rank)
        } else {
            world = Communicator(
                engine: engine, context: ContextID(owner: processID.rawValue, serial: 0), group: Group(members: [processID]), rank: 0)
        }
        engine.start()
        if let seconds = environment["TRELLIS_DEBUG_DUMP_SECONDS"].flatMap(Double.init) {
            scheduleStateDump(engine: engine, rank: world.rank, afterSeconds: seconds)
        }
        var parent: Communicator?
        // Spawned through a launcher, the parents' port is a preput key of this job (MPICH's name for it);
        // a singleton's spawn, which has no launcher of its own, names it in the environment.
        var parentPort = environment["TRELLIS_PARENT_PORT"]
        if environment["PMI_SPAWNED"] == "1", let client = pmi {
            do {
                parentPort = try client.get(kvs: kvs, key: "PARENT_ROOT_PORT_NAME")
            } catch {
                throw TrellisError(.bootstrapFailed, "this process was spawned (PMI_SPAWNED=1) but its job has no PARENT_ROOT_PORT_NAME: \(error)")
            }
        }
        if let parentPort, !asSingleton {
            do {
                parent = try world.connect(to: parentPort, deadline: .after(seconds: 120))
            } catch {
                throw TrellisError(.bootstrapFailed, "this process was spawned but cannot reach its parents at \(parentPort): \(error)")
            }
        }
        return Runtime(
            world: world, processID: processID, isSingleton: pmi == nil, address: transport.localAddress, engine: engine, pmi: pmi,
            parent: parent, clusterKey: key)
    }

    /// Completes queued sends, tells peers this process is leaving, and
    /// releases the runtime. Operations started afterwards fail with `finalized`.
    public func finalize() throws {
        names.withLock { $0?.close() }
        engine.shutdown(deadline: .after(seconds: engine.limits.finalizeTimeoutSeconds))
        try pmi?.finalize()
    }
}

/// Counters of what the engine holds right now.
public struct RuntimeStatistics: Sendable {
    /// Messages that arrived before a matching receive was posted (small ones and
    /// announcements of large ones).
    public var unexpectedMessages: Int
    /// Payload bytes held for receives not posted yet (eager messages only).
    public var unexpectedBytes: Int
    /// Receives posted and not yet matched, collectives' internal receives included.
    public var postedReceives: Int
    /// Large sends to other processes whose receiver has not yet asked for the data.
    public var pendingLargeSends: Int
}

extension Runtime {
    /// A snapshot of the engine's queue counters, taken under its lock.
    public var statistics: RuntimeStatistics {
        engine.lock.withLock {
            RuntimeStatistics(
                unexpectedMessages: engine.matching.unexpectedCount, unexpectedBytes: engine.unexpectedBytes,
                postedReceives: engine.matching.postedCount, pendingLargeSends: engine.outboundExchanges.count)
        }
    }
}

extension Runtime {
    /// A human-readable dump of the engine's queues and connections, for diagnosing hangs.
    public func debugState() -> String {
        engine.lock.withLock { engine.debugState() }
    }
}

/// For diagnosing a hang: after the delay, the engine's queues go to stderr.
private func scheduleStateDump(engine: ProgressEngine, rank: Int, afterSeconds seconds: Double) {
    _ = startThread { [weak engine] in
        usleep(UInt32(min(seconds, 4000) * 1_000_000))
        guard let engine else { return }
        writeToStandardError("rank \(rank) state after \(seconds)s:\n\(engine.lock.withLock { engine.debugState() })\n")
    }
}

extension ProgressEngine {
    func debugState() -> String {
        var lines = ["process \(processID): posted \(matching.postedCount), unexpected \(matching.unexpectedCount) (\(unexpectedBytes) bytes)"]
        lines.append(contentsOf: matching.describe())
        for (id, exchange) in outboundExchanges { lines.append("  outbound exchange \(id) to \(exchange.peer): \(exchange.payload.readableBytes) bytes") }
        for (id, exchange) in inboundExchanges { lines.append("  inbound exchange \(id) from \(exchange.peer): \(exchange.length) bytes, buffer \(exchange.buffer == nil ? "with transport" : "waiting")") }
        lines.append(transport.debugState())
        return lines.joined(separator: "\n")
    }
}
