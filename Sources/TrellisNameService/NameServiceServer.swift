import Logging
import Metrics
import NIOCore
import NIOPosix
import TrellisCore
import TrellisKeys
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
    /// `close()` stops it. With `key`, it serves only clients that prove
    /// they hold it, and seals every line (`NameServiceHandshake`).
    public static func start(
        host: String, port: Int, leaseSeconds: Double, key: ClusterKey?, logger: Logger = Logger(label: "trellis.names")
    ) throws -> NameServiceServer {
        let core = NameServiceCore(leaseSeconds: leaseSeconds)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(NameServiceConnection(core: core, key: key, logger: logger))
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
    private let key: ClusterKey?
    private let logger: Logger
    /// Publishers that published or renewed on this connection; event-loop only.
    private var publishers = Set<String>()
    /// Where the connection is in its handshake; event-loop only.
    private var stage: Stage

    private enum Stage {
        /// A service without a key: requests as they come.
        case open
        /// A keyed service: nothing but a hello first.
        case awaitingHello
        /// Hello answered: nothing but the client's proof next.
        case awaitingProof(client: String, service: String)
        /// Proved: every line sealed, both ways.
        case sealed(NameLineSeal)
    }

    init(core: NameServiceCore, key: ClusterKey?, logger: Logger) {
        self.core = core
        self.key = key
        self.logger = logger
        stage = key == nil ? .open : .awaitingHello
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        var text = Array(line.readableBytesView)
        if case .sealed(var seal) = stage {
            guard let opened = seal.open(text) else {
                refuse(context, "a line failed its seal check (altered, replayed or out of order)", tell: nil)
                return
            }
            stage = .sealed(seal)
            text = opened
        }
        let response: NameResponse
        var request: NameRequest?
        do {
            request = try NameServiceCodec.decode(NameRequest.self, from: text)
            guard let answer = handshake(request!, context) else { return }
            response = answer
        } catch {
            guard case .open = stage else {
                refuse(context, "it sent something else than the handshake asks for", tell: Self.keyAsked)
                return
            }
            response = .failure("malformed request: \(error)")
        }
        if let request, response.ok, let publisher = request.publisher, request.operation == .publish || request.operation == .renew {
            publishers.insert(publisher)
        }
        let encoded = (try? NameServiceCodec.encode(response)) ?? Array("{\"ok\":false}\n".utf8)
        let written = context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: sealed(encoded))))
        if request?.operation == .shutdown {
            logger.notice("shutdown requested")
            let parent = context.channel.parent
            written.whenComplete { _ in parent?.close(promise: nil) }
        }
    }

    static let keyAsked = "it asks for the cluster key, and this process holds none"

    /// The answer to `request` as the handshake stands: the registry's once
    /// the connection is open or sealed, the handshake's own before; nil
    /// when the connection was refused.
    private func handshake(_ request: NameRequest, _ context: ChannelHandlerContext) -> NameResponse? {
        switch stage {
        case .open:
            guard request.operation != .hello else {
                return .failure("this name service holds no cluster key (it was started with --insecure): a process that holds one will not use it")
            }
            return core.handle(request)
        case .sealed:
            guard request.operation != .hello, request.operation != .prove else { return .failure("the handshake is over") }
            return core.handle(request)
        case .awaitingHello:
            guard request.operation == .hello, NameServiceHandshake.isNonce(request.nonce), let client = request.nonce, let key else {
                refuse(context, "it did not start with the handshake: it holds no cluster key", tell: Self.keyAsked)
                return nil
            }
            let service = NameServiceHandshake.newNonce()
            stage = .awaitingProof(client: client, service: service)
            var answer = NameResponse(ok: true)
            answer.nonce = service
            answer.proof = NameServiceHandshake.serviceProof(key, client: client, service: service)
            return answer
        case .awaitingProof(let client, let service):
            guard request.operation == .prove, let proof = request.proof, let key, NameServiceHandshake.isClientProof(proof, key, client: client, service: service) else {
                refuse(context, "it did not prove it holds the cluster key", tell: "it holds another cluster key")
                return nil
            }
            stage = .sealed(NameLineSeal(key: key, client: client, service: service, isService: true))
            return NameResponse(ok: true)
        }
    }

    /// `line` as it goes out: sealed once the handshake is over.
    private func sealed(_ line: [UInt8]) -> [UInt8] {
        guard case .sealed(var seal) = stage else { return line }
        defer { stage = .sealed(seal) }
        return seal.seal(Array(line.dropLast()))
    }

    /// Logs the refusal with the peer's address, tells the peer why when
    /// `tell` says (unsealed: it holds no key, or not this one), and closes.
    private func refuse(_ context: ChannelHandlerContext, _ reason: String, tell: String?) {
        let peer = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "an unknown address"
        logger.warning("refused a connection from \(peer): \(reason)")
        Counter(label: "trellis_names_refused_connections_total").increment()
        var refusal = NameResponse.failure("the name service refused this process: \(tell ?? "")")
        refusal.refusedConnection = true
        guard tell != nil, let answer = try? NameServiceCodec.encode(refusal) else {
            context.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: answer))).whenComplete { _ in context.close(promise: nil) }
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
