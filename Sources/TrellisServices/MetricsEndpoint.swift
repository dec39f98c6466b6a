import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// An HTTP endpoint that answers `GET /metrics` with the registry in
/// Prometheus's text format, for Prometheus to scrape and for
/// `trellis fs top`. Bound when made, so the port is known (and can be
/// published) before the service runs; closed on graceful shutdown.
///
/// ```swift
/// let endpoint = try MetricsEndpoint.bind(host: "0.0.0.0", port: 9400, registry: PrometheusMetrics.bootstrap())
/// print("metrics at http://\(endpoint.address)/metrics")
/// try ServiceRunner.runUntilSignalled([server, endpoint], logger: logger)
/// ```
public final class MetricsEndpoint: Service, Sendable {
    /// Where it listens, as `host:port` (the port the kernel chose when 0 was asked for).
    public let address: String
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup

    private init(address: String, channel: any Channel, group: MultiThreadedEventLoopGroup) {
        self.address = address
        self.channel = channel
        self.group = group
    }

    /// Listens on `host:port` (port 0: any free port); throws naming the address when it cannot.
    public static func bind(host: String, port: Int, registry: PrometheusCollectorRegistry) throws -> MetricsEndpoint {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(ScrapeHandler(registry: registry))
                    }
                }
                .bind(host: host, port: port).wait()
            let boundPort = channel.localAddress?.port ?? port
            return MetricsEndpoint(address: "\(host):\(boundPort)", channel: channel, group: group)
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsEndpointError(message: "cannot serve metrics on \(host):\(port): \(error)")
        }
    }

    /// Serves until graceful shutdown or cancellation, then closes the socket and its event loop.
    public func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: { [channel] in
            channel.close(promise: nil)
        }
        try await group.shutdownGracefully()
    }

    /// Closes the endpoint without a service group (tests, and commands that serve one request).
    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Why the endpoint could not listen.
public struct MetricsEndpointError: Error, CustomStringConvertible {
    /// The address and the reason.
    public let message: String
    /// The message.
    public var description: String { message }
}

/// Answers each request of one connection: the registry for `/metrics`, 404 for anything else.
private final class ScrapeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let found = request.method == .GET && (path == "/metrics" || path == "/")
        var body = context.channel.allocator.buffer(capacity: found ? 16 * 1024 : 64)
        if found {
            body.writeBytes(registry.emitToBuffer())
        } else {
            body.writeString("only GET /metrics is served here\n")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let keepAlive = request.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
