import NIOCore
import NIOPosix
import TrellisCore
import TrellisRuntime

/// The same ping-pong over a plain SwiftNIO connection: the measurement
/// behind the transport decision (docs/decisions/0001). The waiting thread
/// blocks on a future that NIO's event-loop thread fulfils, which is what a
/// transport built on NIO's event loop would give the runtime.
public enum NIOPingPong {
    /// Half the round trip between ranks 0 and 1 over a SwiftNIO TCP connection
    /// on loopback, at each size; every rank calls it, rank 0 gets the records.
    /// Throws `invalidArgument` with fewer than 2 ranks.
    public static func run(world: Communicator, sizes: [Int]) throws -> [MessagingRecord] {
        guard world.size >= 2 else { throw TrellisError(.invalidArgument, "needs 2 ranks (trellis run -n 2 ...)") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        var records: [MessagingRecord] = []
        if world.rank == 1 {
            let server = try ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.addHandlers([ByteToMessageHandler(LengthPrefixDecoder()), EchoHandler()])
                }
                .bind(host: "127.0.0.1", port: 0).wait()
            try world.send([server.localAddress!.port!], to: 0, tag: 9)
            try world.barrier()
            try server.close().wait()
        } else if world.rank == 0 {
            let port = try world.receive(Int.self, from: .rank(1), tag: .tag(9)).values[0]
            let replies = ReplyHandler()
            let channel = try ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.pipeline.addHandlers([ByteToMessageHandler(LengthPrefixDecoder()), replies])
                }
                .connect(host: "127.0.0.1", port: port).wait()
            for bytes in sizes {
                var frame = channel.allocator.buffer(capacity: bytes + 8)
                frame.writeInteger(UInt64(bytes), endianness: .little)
                frame.writeRepeatingByte(1, count: bytes)
                let count = iterations(for: bytes, small: 20000, megabytesPerRun: 512)
                let warmup = max(2, count / 10)
                var start: UInt64 = 0
                for index in 0..<(warmup + count) {
                    if index == warmup { start = MonotonicClock.nanoseconds() }
                    let reply = channel.eventLoop.makePromise(of: ByteBuffer.self)
                    replies.expect(reply)
                    channel.writeAndFlush(frame, promise: nil)
                    _ = try reply.futureResult.wait()
                }
                let elapsed = Double(MonotonicClock.nanoseconds() - start) / 1000
                records.append(MessagingRecord(
                    bench: "pingpong", impl: "swift-nio", bytes: bytes, ranks: world.size, iterations: count,
                    latencyMicroseconds: elapsed / Double(count) / 2))
            }
            try channel.close().wait()
            try world.barrier()
        } else {
            try world.barrier()
        }
        return records
    }
}

/// Frames are an 8-byte little-endian length and that many bytes.
private struct LengthPrefixDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt64.self),
            buffer.readableBytes >= 8 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 8)
        context.fireChannelRead(wrapInboundOut(buffer.readSlice(length: Int(length))!))
        return .continue
    }
}

private final class EchoHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        var frame = context.channel.allocator.buffer(capacity: payload.readableBytes + 8)
        frame.writeInteger(UInt64(payload.readableBytes), endianness: .little)
        frame.writeImmutableBuffer(payload)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}

private final class ReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private var waiting: EventLoopPromise<ByteBuffer>?
    func expect(_ promise: EventLoopPromise<ByteBuffer>) {
        promise.futureResult.eventLoop.execute { self.waiting = promise }
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        waiting?.succeed(unwrapInboundIn(data))
        waiting = nil
    }
}
