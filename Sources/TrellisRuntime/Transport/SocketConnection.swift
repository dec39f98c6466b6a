import Glibc
import DequeModule
import NIOCore
import TrellisCore
import TrellisWire

/// One TCP connection to a peer process: its handshake state, the frames
/// queued for writing, and the frame being read.
final class SocketConnection {
    enum State: Equatable {
        case connecting
        /// Connected; the acceptor's nonce has not come yet.
        case awaitingChallenge
        case awaitingAcknowledge
        case awaitingHello
        case established
        /// The peer kept the connection it opened to us instead; frames wait here
        /// until that connection's hello arrives.
        case rejected
        case closed
    }

    let fd: Int32
    let isOutgoing: Bool
    var peer: ProcessID?
    var state: State
    var sendQueue = Deque<OutgoingFrame>()
    /// Bytes of the head frame already written.
    var headOffset = 0
    var wantsWritable = false
    var goodbyeReceived = false
    var descriptorOpen = true
    /// A goodbye is queued: once the queue drains, the write side closes, and
    /// the connection closes when the peer's end of stream arrives, so no
    /// unread byte turns the close into a reset.
    var closingAfterFlush = false
    /// Closed by this side because no communicator needs the peer any more
    /// (not because this process finalizes): not a loss to report.
    var released = false
    /// The acceptor's and the opener's nonces of the handshake (`HandshakeProof`).
    var acceptorNonce: [UInt8] = []
    var openerNonce: [UInt8] = []
    /// Where an accepted connection comes from, for the log of a refusal.
    var remoteAddress = "?"
    /// Set once the handshake with a keyed peer ends: every frame after it carries a seal.
    var outboundSeal: FrameSeal?
    var inboundSeal: FrameSeal?
    /// The seal of the head of the send queue, made when its first byte is
    /// written (frames are numbered in the order they go out).
    private var headSeal: [UInt8]?

    // Reading: a staging area for headers and small payloads; large payloads
    // are read straight into their destination buffer.
    static let stagingCapacity = 256 * 1024
    let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: SocketConnection.stagingCapacity, alignment: 16)
    var stagingStart = 0
    var stagingEnd = 0
    var inboundHeader: FrameHeader?
    var inboundPayload: ByteBuffer?
    var inboundRemaining = 0
    var discardingPayload = false
    /// The inbound frame's header as it came and the seal after it, checked once its payload is in.
    let inboundHeaderBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: FrameHeader.byteCount, alignment: 8)
    let inboundSealBytes = UnsafeMutableRawBufferPointer.allocate(byteCount: FrameSeal.byteCount, alignment: 8)
    /// Whether the inbound frame carries a seal.
    var inboundSealed = false

    init(fd: Int32, isOutgoing: Bool, peer: ProcessID?, state: State) {
        self.fd = fd
        self.isOutgoing = isOutgoing
        self.peer = peer
        self.state = state
    }

    deinit {
        staging.deallocate()
        inboundHeaderBytes.deallocate()
        inboundSealBytes.deallocate()
    }

    var stagedBytes: Int { stagingEnd - stagingStart }

    /// Bytes that follow each inbound header before its payload.
    var inboundSealLength: Int { inboundSeal == nil ? 0 : FrameSeal.byteCount }

    /// Whether the inbound frame's seal is the one expected next; true when it carries none.
    func inboundSealHolds() -> Bool {
        guard inboundSealed else { return true }
        let header = UnsafeRawBufferPointer(inboundHeaderBytes)
        let seal = UnsafeRawBufferPointer(inboundSealBytes)
        guard let payload = inboundPayload else {
            return inboundSeal!.isNext(seal, header: header, payload: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return payload.withUnsafeReadableBytes { inboundSeal!.isNext(seal, header: header, payload: $0) }
    }

    enum WriteOutcome {
        case drained
        case blocked
        case failed(Int32)
    }

    /// Writes queued frames until the socket would block. Each fully written
    /// frame is passed to `written`.
    func flush(_ written: (OutgoingFrame) -> Void) -> WriteOutcome {
        while let head = sendQueue.first {
            if headSeal == nil, outboundSeal != nil { headSeal = seal(head) }
            let result = write(head, seal: headSeal, from: headOffset)
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return .blocked }
                return .failed(code)
            }
            headOffset += result
            if headOffset == head.byteCount + (headSeal?.count ?? 0) {
                sendQueue.removeFirst()
                headOffset = 0
                headSeal = nil
                written(head)
            }
        }
        return .drained
    }

    private func seal(_ frame: OutgoingFrame) -> [UInt8] {
        frame.encodedHeader.withUnsafeBytes { header in
            guard let payload = frame.payload else {
                return outboundSeal!.next(header: header, payload: UnsafeRawBufferPointer(start: nil, count: 0))
            }
            return payload.withUnsafeReadableBytes { outboundSeal!.next(header: header, payload: $0) }
        }
    }

    /// Writes one frame without queueing (handshake frames). Fresh sockets take
    /// 56 bytes at once; anything less is a broken connection.
    func writeImmediately(_ frame: OutgoingFrame) -> Bool {
        let seal = outboundSeal == nil ? nil : seal(frame)
        var offset = 0
        while offset < frame.byteCount + (seal?.count ?? 0) {
            let result = write(frame, seal: seal, from: offset)
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += result
        }
        return true
    }

    /// Writes what is left of the frame after `offset` bytes: header, seal (when sealed), payload.
    private func write(_ frame: OutgoingFrame, seal: [UInt8]?, from offset: Int) -> Int {
        frame.encodedHeader.withUnsafeBytes { header -> Int in
            (seal ?? []).withUnsafeBytes { sealBytes -> Int in
                func send(_ body: UnsafeRawBufferPointer) -> Int {
                    var vectors: [iovec] = []
                    var skip = offset
                    for segment in [header, sealBytes, body] where segment.count > 0 {
                        if skip >= segment.count {
                            skip -= segment.count
                            continue
                        }
                        vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: segment.baseAddress! + skip), iov_len: segment.count - skip))
                        skip = 0
                    }
                    var message = msghdr()
                    return vectors.withUnsafeMutableBufferPointer { pointer in
                        message.msg_iov = pointer.baseAddress
                        message.msg_iovlen = pointer.count
                        return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                    }
                }
                guard let payload = frame.payload, payload.readableBytes > 0 else {
                    return send(UnsafeRawBufferPointer(start: nil, count: 0))
                }
                return payload.withUnsafeReadableBytes { send($0) }
            }
        }
    }
}
