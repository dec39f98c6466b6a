import Glibc
import Logging
import NIOCore
import TrellisCore
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime
import TrellisSystem

/// One running server of a file system: a runtime singleton on the
/// server's configured address whose serving loop answers the requests for
/// the objects it holds.
public final class FileSystemServer: @unchecked Sendable {
    /// The file system it serves part of.
    public let configuration: FileSystemConfiguration
    /// Which server of `configuration` it is.
    public let index: Int
    private let runtime: Runtime
    private let logger: Logger
    private let loop: ServingLoop
    private var handler: RequestHandler { loop.handler }

    /// Opens server `index`'s storage (prepared by `trellis mkfs`) and joins the runtime as a singleton on its configured address; serving starts with `run`.
    public init(configuration: FileSystemConfiguration, index: Int, logger: Logger = Logger(label: "trellis.fs.server")) throws {
        guard configuration.servers.indices.contains(index) else {
            throw FSError(.invalidArgument, "server index \(index) is outside 0 ..< \(configuration.servers.count) of \(configuration.name)")
        }
        guard configuration.replicas == 1 else {
            throw FSError(.notSupported, "\(configuration.name) asks for replicas = \(configuration.replicas): this server does not yet keep replicas (only replicas = 1 is served)")
        }
        self.configuration = configuration
        self.index = index
        self.logger = logger
        let stores = try ServerStorage.open(configuration, server: index)
        // A server listens on its configured address (TRELLIS_HOST, when set, overrides it).
        runtime = try Runtime.initialize(asSingleton: true, host: ProcessEnvironment.value("TRELLIS_HOST") ?? (try configuration.listenAddress(ofServer: index)))
        let servers = configuration.servers.indices.map {
            ServerDescription(index: UInt32($0), serviceName: configuration.serviceName(ofServer: $0), portName: "", host: configuration.servers[$0].host)
        }
        var context = ServerContext(
            serverIndex: index,
            configuration: FSConfiguration(name: configuration.name, servers: servers, defaultDistribution: try configuration.defaultDistribution()),
            metadata: stores.metadata, bstreams: stores.bstreams)
        context.peers = PeerLinks(runtime: runtime, serviceNames: servers.map(\.serviceName))
        context.log = { [logger] message in logger.warning("server \(index): \(message)") }
        if configuration.precreateBatch > 0, configuration.servers.count > 1, let peers = context.peers {
            context.pool = try DatafilePool(
                store: stores.metadata, peers: peers, serverIndex: index, serverCount: configuration.servers.count,
                batch: configuration.precreateBatch, log: context.log)
        }
        loop = ServingLoop(
            handler: RequestHandler(context: context), runtime: runtime, serviceName: configuration.serviceName(ofServer: index),
            label: "server \(index) of \(configuration.name)", logger: logger)
    }

    /// Asks `run` to return after the request in hand (safe from any thread).
    public func stop() { loop.stop() }

    /// Serves until `stop`; `ready` is called with the port name once clients can connect.
    /// `metricsAddress`, when given, is published beside the port, for `trellis fs top` to find.
    public func run(metricsAddress: String? = nil, ready: (String) -> Void = { _ in }) throws {
        if let metricsAddress { try runtime.publish(name: configuration.metricsServiceName(ofServer: index), port: metricsAddress) }
        handler.context.pool?.start()
        let served = Result { try loop.run(ready: ready) }
        handler.context.pool?.stop()
        handler.context.peers?.close()
        if metricsAddress != nil { try? runtime.unpublish(name: configuration.metricsServiceName(ofServer: index)) }
        try runtime.finalize()
        try served.get()
    }
}
