import Logging
import NIOCore
import NIOPosix
import TrellisCore
import TrellisNames

/// The persistent name service: JSON lines over TCP, served by SwiftNIO.
///
/// A publisher's names are tied to the connection it published on and to
/// its lease: when that connection closes (the publisher exited or was
/// killed) its names go at once; when it hangs or is cut off, they go when
/// the lease runs out. Lookups may come over any connection.
public final class NameServiceServer: Sendable {
    /// Where it listens, as `host:port` (the port the kernel chose when 0 was asked for).
    public let address: String
    /// The registry and request handling its connections share.
    public let core: NameServiceCore
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    private init(address: String, core: NameServiceCore, group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.address = address
        self.core = core
        self.group = group
        self.channel = channel
    }

    /// Binds `host:port` and starts serving; a `shutdown` request or
    /// `close()` stops it.
    public static func start(
        host: String, port: Int, leaseSeconds: Double, logger: Logger = Logger(label: "trellis.names")
    ) throws -> NameServiceServer {
        let core = NameServiceCore(leaseSeconds: leaseSeconds)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(NameServiceConnection(core: core, logger: logger))
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw TrellisError(.systemCall, "the name service cannot listen on \(host):\(port): \(error)")
        }
        let bound = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
        // Leases are checked often enough that a name outlives its lease by at most a tenth of it.
        let sweep = TimeAmount.nanoseconds(Int64(max(leaseSeconds / 10, 0.01) * 1e9))
        channel.eventLoop.scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in
            for service in core.expire() { logger.info("lease of '\(service)' ran out") }
        }
        return NameServiceServer(address: bound, core: core, group: group, channel: channel)
    }

    /// Blocks until the service is shut down.
    public func waitUntilClosed() {
        try? channel.closeFuture.wait()
        try? group.syncShutdownGracefully()
    }

    /// Stops listening, which makes `waitUntilClosed` return; does not wait itself.
    public func close() {
        channel.close(promise: nil)
    }
}

/// Splits the stream into lines; a line longer than the limit is an error
/// that closes only this connection.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > NameServiceCodec.maximumLineBytes { throw LineTooLong() }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(NIOAny(line))
        return .continue
    }

    struct LineTooLong: Error {}
}

/// One client connection: answers each request line, and forgets the names
/// of the publishers that used it when it closes.
final class NameServiceConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: NameServiceCore
    private let logger: Logger
    /// Publishers that published or renewed on this connection; event-loop only.
    private var publishers = Set<String>()

    init(core: NameServiceCore, logger: Logger) {
        self.core = core
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        let response: NameResponse
        var request: NameRequest?
        do {
            request = try NameServiceCodec.decode(NameRequest.self, from: line.readableBytesView)
            response = core.handle(request!)
        } catch {
            response = .failure("malformed request: \(error)")
        }
        if let request, response.ok, let publisher = request.publisher, request.operation == .publish || request.operation == .renew {
            publishers.insert(publisher)
        }
        let encoded = (try? NameServiceCodec.encode(response)) ?? Array("{\"ok\":false}\n".utf8)
        let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: encoded)))
        if request?.operation == .shutdown {
            logger.notice("shutdown requested")
            let parent = context.channel.parent
            written.whenComplete { _ in parent?.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for publisher in publishers {
            let gone = core.forget(publisher: publisher)
            if !gone.isEmpty { logger.info("publisher \(publisher) disconnected; dropped \(gone.joined(separator: ", "))") }
        }
        publishers.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LineDecoder.LineTooLong {
            let answer = (try? NameServiceCodec.encode(NameResponse.failure("request line longer than \(NameServiceCodec.maximumLineBytes) bytes"))) ?? []
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: answer))).whenComplete { _ in context.close(promise: nil) }
            return
        }
        logger.debug("name service connection closed: \(error)")
        context.close(promise: nil)
    }
}
