import Glibc
import NIOCore
import Synchronization
import TrellisCore
import TrellisFSConnection
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisRuntime

/// A client of a Trellis file system. It learns every server from any one
/// of them and then talks to each directly: metadata requests go to the
/// server that owns the object, data moves between the caller and the data
/// servers in parallel.
///
/// ```swift
/// let fs = try FileSystemClient.connect(name: "trellis")
/// try fs.makeDirectory("/results")
/// try fs.write("/results/run1", ByteBuffer(string: "hello"), at: 0, create: true)
/// print(try fs.stat("/results/run1").size)       // 5
/// ```
public final class FileSystemClient: @unchecked Sendable {
    /// The file system as its servers describe it: name, servers, default distribution.
    public let configuration: FSConfiguration
    /// Whom this client speaks for: every server checks permissions against it.
    public var credentials: Credentials
    /// How long each call may take, retries included.
    public var timeoutSeconds: Double = 60
    /// The runtime this client talks through (share it with other clients in this process).
    public let runtime: Runtime
    let servers: [ServerConnection]
    let ownsRuntime: Bool
    let requestIDs: RequestIDSource
    /// Capabilities the servers gave this client and its siblings, by file and user.
    let capabilities: CapabilityCache
    /// Makes the MUNGE credential each new connection proves this client's identity with (nil: no munged here).
    let identityProof: (@Sendable () -> String?)?
    private let meter = Mutex(LinkTraffic())

    /// Connects through the name service to file system `name` (as `trellis up` names it).
    /// Any server that answers tells the rest: server 0 first, then the
    /// others in turn (server 0 may be the one that is down while a copy of
    /// its group serves for it).
    public static func connect(
        name: String = "trellis", runtime: Runtime? = nil, credentials: Credentials = .current, timeoutSeconds: Double = 60
    ) throws -> FileSystemClient {
        try connect(service: { "trellis-fs/\(name)/\($0)" }, portName: nil, runtime: runtime, credentials: credentials, timeoutSeconds: timeoutSeconds)
    }

    /// Connects to one server by its port name and learns the others from it.
    public static func connect(
        portName: String, runtime: Runtime? = nil, credentials: Credentials = .current, timeoutSeconds: Double = 60
    ) throws -> FileSystemClient {
        try connect(service: nil, portName: portName, runtime: runtime, credentials: credentials, timeoutSeconds: timeoutSeconds)
    }

    private static func connect(
        service: ((Int) -> String)?, portName: String?, runtime given: Runtime?, credentials: Credentials, timeoutSeconds: Double
    ) throws -> FileSystemClient {
        let runtime: Runtime
        do {
            runtime = try given ?? Runtime.initialize(asSingleton: true)
        } catch {
            throw FSError(.serverUnavailable, "cannot start the client's runtime: \(error)")
        }
        let ids = RequestIDSource()
        let configuration: FSConfiguration
        do {
            configuration = try fetchConfiguration(service: service, portName: portName, runtime: runtime, requestIDs: ids, credentials: credentials, timeoutSeconds: timeoutSeconds)
        } catch {
            if given == nil { try? runtime.finalize() }
            throw error
        }
        return FileSystemClient(
            configuration: configuration, credentials: credentials, runtime: runtime, requestIDs: ids, ownsRuntime: given == nil, timeoutSeconds: timeoutSeconds,
            capabilities: CapabilityCache(), identityProof: Munge.prover(fileSystem: configuration.name))
    }

    /// How many servers' names a client tries in turn, at most, for the configuration.
    static let widestBootstrap = 64

    /// The file system's configuration, from the server at `portName`, or
    /// else from the first server named by `service` that answers: servers
    /// 0 and 1, then 0 to 3, 0 to 7 and so on up to `widestBootstrap`, until
    /// the deadline (the server count is what the answer tells). Rounds are
    /// apart by a pause, longer once every name is tried, so a file system
    /// that is not up yet is not asked for a thousand names a second.
    private static func fetchConfiguration(
        service: ((Int) -> String)?, portName: String?, runtime: Runtime, requestIDs: RequestIDSource, credentials: Credentials, timeoutSeconds: Double
    ) throws -> FSConfiguration {
        let deadline = Deadline.after(seconds: timeoutSeconds)
        func ask(_ entry: ServerConnection, until: Deadline) throws -> FSConfiguration {
            defer { entry.drop() }
            return try entry.call(GetConfiguration(), credentials: credentials, deadline: until).reply
        }
        guard let service else {
            do {
                return try ask(ServerConnection(index: 0, serviceName: "", runtime: runtime, requestIDs: requestIDs, portName: portName), until: deadline)
            } catch let error as TrellisError {
                throw FSError(.serverUnavailable, "cannot reach \(portName ?? ""): \(error.message)")
            }
        }
        var firstServersError: (any Error)?
        var width = 2
        while !deadline.hasPassed {
            for index in 0..<width where !deadline.hasPassed {
                // A probe: a name not published now, a port that refuses, or a copy not serving
                // its group sends the client on to the next server.
                let entry = ServerConnection(index: index, serviceName: service(index), runtime: runtime, requestIDs: requestIDs, resendsAfterLoss: false)
                do {
                    return try ask(entry, until: min(deadline, .after(seconds: 2)))
                } catch let error as FSError where ![.serverUnavailable, .timedOut, .notPrimary].contains(error.code) {
                    throw error
                } catch {
                    if index == 0 { firstServersError = error }
                }
            }
            width = min(width * 2, Self.widestBootstrap)
            usleep(width < Self.widestBootstrap ? 100_000 : 500_000)
        }
        let why = (firstServersError as? TrellisError)?.message ?? (firstServersError as? FSError)?.message ?? firstServersError.map { "\($0)" } ?? "no answer"
        throw FSError(.serverUnavailable, "no server of the file system published as \(service(0)), \(service(1)), ... answered within \(Int(timeoutSeconds)) s (server 0: \(why))")
    }

    private init(
        configuration: FSConfiguration, credentials: Credentials, runtime: Runtime, requestIDs: RequestIDSource, ownsRuntime: Bool, timeoutSeconds: Double,
        capabilities: CapabilityCache, identityProof: (@Sendable () -> String?)?
    ) {
        self.capabilities = capabilities
        self.identityProof = identityProof
        self.configuration = configuration
        self.credentials = credentials
        self.runtime = runtime
        self.requestIDs = requestIDs
        self.servers = configuration.servers.enumerated().map { position, server in
            ServerConnection(
                index: position, serviceName: server.serviceName, runtime: runtime, requestIDs: requestIDs, portName: server.portName, alternates: server.copies,
                identityProof: identityProof)
        }
        self.ownsRuntime = ownsRuntime
        self.timeoutSeconds = timeoutSeconds
    }

    /// Another client of the same file system over the same runtime, with
    /// lines of its own (each client serves one thread at a time): for
    /// another user, or another thread. It costs no round trip; closing it
    /// leaves the runtime alone.
    public func sibling(credentials: Credentials) -> FileSystemClient {
        FileSystemClient(
            configuration: configuration, credentials: credentials, runtime: runtime, requestIDs: requestIDs, ownsRuntime: false, timeoutSeconds: timeoutSeconds,
            capabilities: capabilities, identityProof: identityProof)
    }

    /// Disconnects from every server (and ends the runtime this client started).
    public func close() {
        for server in servers { server.drop() }
        if ownsRuntime { try? runtime.finalize() }
    }

    var deadline: Deadline { .after(seconds: timeoutSeconds) }

    /// One request to the server that owns `handle`, with its typed reply
    /// (the methods above are made of these; tools that speak the protocol
    /// itself, as fsck and the benchmarks do, use them directly).
    public func call<Operation: FSOperation>(owner handle: ObjectHandle, _ operation: Operation, capability: Capability? = nil) throws -> Operation.Reply {
        guard let index = handle.server, servers.indices.contains(index) else {
            throw FSError(.staleHandle, "handle \(handle) belongs to no server of \(configuration.name)")
        }
        return try call(server: index, operation, capability: capability)
    }

    /// Sends one operation to server `index` and returns its typed reply, retried as the operation allows.
    public func call<Operation: FSOperation>(
        server index: Int, _ operation: Operation, as asking: Credentials? = nil, capability: Capability? = nil
    ) throws -> Operation.Reply {
        try callAll([(index, operation)], as: asking, capability: capability)[0]
    }

    /// Many requests at once, each to its server: all are sent before any
    /// reply is awaited, so servers work in parallel. A request whose server
    /// was lost is retried on its own, as its connection's policy allows.
    /// `capability` allows requests on datafiles.
    public func callAll<Operation: FSOperation>(
        _ requests: [(server: Int, operation: Operation)], as asking: Credentials? = nil, capability: Capability? = nil
    ) throws -> [Operation.Reply] {
        try finish(startAll(requests, as: asking, capability: capability))
    }

    /// Requests sent together and not yet answered (`startAll`, then `finish`).
    public struct PendingCalls<Operation: FSOperation> {
        let servers: [Int]
        let flights: [ServerConnection.InFlight<Operation>]
        let deadline: Deadline
    }

    /// Sends every request, each to its server, and returns at once: the
    /// caller may start more (several reads or writes in flight, as
    /// read-ahead and write-behind keep them) before it waits with `finish`.
    public func startAll<Operation: FSOperation>(
        _ requests: [(server: Int, operation: Operation)], as asking: Credentials? = nil, capability: Capability? = nil
    ) -> PendingCalls<Operation> {
        let deadline = self.deadline
        let credentials = asking ?? self.credentials
        return PendingCalls(
            servers: requests.map(\.server),
            flights: requests.map { servers[$0.server].start($0.operation, credentials: credentials, capability: capability, deadline: deadline) },
            deadline: deadline)
    }

    /// The replies of requests started together, in their order, each
    /// retried on its own as its connection's policy allows.
    public func finish<Operation: FSOperation>(_ pending: PendingCalls<Operation>) throws -> [Operation.Reply] {
        var answers: [ServerConnection.Answer<Operation.Reply>] = []
        for (server, flight) in zip(pending.servers, pending.flights) {
            do {
                answers.append(try servers[server].finish(flight, deadline: pending.deadline))
            } catch {
                abandon(pending, after: answers.count + 1)
                throw error
            }
        }
        meter.withLock { $0.record(answers.map(\.steps)) }
        return answers.map(\.reply)
    }

    /// Gives up the replies of requests started together from `first` on.
    public func abandon<Operation: FSOperation>(_ pending: PendingCalls<Operation>, after first: Int = 0) {
        for (server, flight) in zip(pending.servers, pending.flights).dropFirst(first) { servers[server].abandon(flight) }
    }

    /// Messages and time steps on this client's link since it was made.
    public var traffic: LinkTraffic { meter.withLock { $0 } }
}

/// What crossed a client's link: every request and reply is a message, and
/// time steps count messages on the critical path, one message per step
/// through the client's link (Fig. 4 of the persistent-services paper,
/// Latham, Ross and Thakur, "Can MPI Be Used for Persistent Parallel
/// Services?"): a round of k requests sent together takes steps 1...k to
/// send, each reply arrives its server's reported steps after its request,
/// and the next round starts after the last.
public struct LinkTraffic: Sendable, Equatable {
    /// Requests and replies that crossed the link.
    public var messages = 0
    /// Time steps on the critical path.
    public var steps = 0

    /// A count to compare against (`traffic.since(before)`).
    public init(messages: Int = 0, steps: Int = 0) {
        self.messages = messages
        self.steps = steps
    }

    mutating func record(_ replySteps: [Int]) {
        let start = steps
        for (order, serverSteps) in replySteps.enumerated() {
            steps = max(steps, start + order + 1 + serverSteps)
        }
        messages += 2 * replySteps.count
    }

    /// The difference since `earlier`.
    public func since(_ earlier: LinkTraffic) -> LinkTraffic {
        LinkTraffic(messages: messages - earlier.messages, steps: steps - earlier.steps)
    }
}

extension Credentials {
    /// This process's user, group and supplementary groups.
    public static var current: Credentials {
        var groups = [gid_t](repeating: 0, count: 64)
        let count = getgroups(Int32(groups.count), &groups)
        return Credentials(uid: getuid(), gid: getgid(), groups: count > 0 ? Array(groups.prefix(Int(count))) : [])
    }
}
