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
    /// When the peer answered that it keeps a connection of its own instead (state `rejected`).
    var rejectedAt: UInt64 = 0
    /// Set once the handshake with a keyed peer ends: every frame after it carries a seal.
    var outboundSeal: FrameSeal?
    var inboundSeal: FrameSeal?
    /// The seal of the head of the send queue, begun when its first byte is
    /// written (frames are numbered in the order they go out) and made chunk
    /// by chunk just ahead of the bytes written; then the seal itself.
    private var headSeal: FrameSeal.Running?
    private var headTrailer: [UInt8]?

    /// The shared-memory lane offered to the acceptor, until it answers (opener only).
    var offeredLane: SharedMemoryLane?
    /// The lane both sides mapped; frames go through it in each direction
    /// once that direction's switch frame has passed on the socket.
    var lane: SharedMemoryLane?
    /// Frames written from here on go into the lane (after this side's switch frame).
    var outboundOnLane = false
    /// Frames read from here on come out of the lane (after the peer's switch
    /// frame); the socket then carries only wake-ups and the peer's close.
    var inboundOnLane = false
    /// The lane's ring was full when frames were left to write.
    var laneOutputBlocked = false

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
    /// The inbound frame's seal, checked chunk by chunk as its payload comes
    /// in; then the seal that follows the payload, read into `inboundTrailer`.
    var inboundRunningSeal: FrameSeal.Running?
    var awaitingTrailer = false
    let inboundTrailer = UnsafeMutableRawBufferPointer.allocate(byteCount: FrameSeal.byteCount, alignment: 8)

    init(fd: Int32, isOutgoing: Bool, peer: ProcessID?, state: State) {
        self.fd = fd
        self.isOutgoing = isOutgoing
        self.peer = peer
        self.state = state
    }

    deinit {
        staging.deallocate()
        inboundTrailer.deallocate()
    }

    var stagedBytes: Int { stagingEnd - stagingStart }

    /// Starts checking the seal of the inbound frame whose header was just read, when the connection is sealed.
    func beginInboundSeal(header: UnsafeRawBufferPointer, payloadLength: Int) {
        guard inboundSeal != nil else { return }
        inboundRunningSeal = inboundSeal!.begin(header: header, payloadLength: payloadLength)
        awaitingTrailer = true
    }

    /// Checks the inbound payload's chunks that have arrived whole since the last call.
    func sealArrivedPayload() {
        guard inboundRunningSeal != nil, let payload = inboundPayload else { return }
        payload.withUnsafeReadableBytes { inboundRunningSeal!.take(from: $0, available: $0.count) }
    }

    /// Whether the inbound frame's seal holds; true when it carries none.
    func inboundSealHolds() -> Bool {
        guard let running = inboundRunningSeal else { return true }
        inboundRunningSeal = nil
        return running.isComplete && running.holds(UnsafeRawBufferPointer(inboundTrailer))
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
            let limit = sealAhead(head)
            let result = write(head, trailer: headTrailer, from: headOffset, upTo: limit)
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return .blocked }
                return .failed(code)
            }
            headOffset += result
            if headOffset == head.byteCount + (outboundSeal == nil ? 0 : FrameSeal.byteCount) {
                sendQueue.removeFirst()
                headOffset = 0
                headSeal = nil
                headTrailer = nil
                if head.switchesToLane { outboundOnLane = true }
                written(head)
            }
        }
        return .drained
    }

    /// Reads like read(2) from the socket, or from the lane once inbound
    /// frames come through it (-1 with EAGAIN when it is empty).
    func receive(into target: UnsafeMutableRawPointer, count: Int) -> Int {
        guard inboundOnLane, let lane else { return Glibc.read(fd, target, count) }
        var wakePeer = false
        let read = lane.read(into: target, maximum: count, wakePeer: &wakePeer)
        if wakePeer { ringDoorbell() }
        if read == 0 {
            errno = EAGAIN
            return -1
        }
        return read
    }

    /// Wakes the peer, asleep in the kernel waiting for the lane: one byte on
    /// the socket. Only once this side's frames go through the lane, so the
    /// byte never lands inside a frame; if the socket is full the peer has
    /// bytes to wake it already.
    func ringDoorbell() {
        guard outboundOnLane, descriptorOpen else { return }
        var byte: UInt8 = 1
        _ = Glibc.send(fd, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
    }

    /// Reads and drops the wake-ups waiting on the socket of a connection
    /// whose frames come through its lane. Returns false at the socket's end
    /// of stream; throws when reading failed.
    func drainDoorbells() throws -> Bool {
        var scratch = [UInt8](repeating: 0, count: 256)
        while true {
            let result = scratch.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if result > 0 { continue }
            if result == 0 { return false }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return true }
            throw TrellisError(.peerFailed, "reading from a peer failed", underlying: SystemCallError("read", errno: code))
        }
    }

    /// Starts reading frames from the lane: what is left in the staging area
    /// came on the socket after the peer's switch frame, so it is wake-ups.
    func switchInboundToLane() {
        inboundOnLane = true
        stagingStart = 0
        stagingEnd = 0
    }

    /// The most one write hands the kernel: a receiver on the same host
    /// starts copying the first piece out while the next goes in, which
    /// one large write does not let it do.
    static let writePieceBytes = FrameSeal.chunkBytes

    /// How far into the head frame may be written now: on a sealed
    /// connection, the next chunk of its payload is sealed once every byte
    /// sealed before it is written, and the seal follows the last chunk.
    private func sealAhead(_ head: OutgoingFrame) -> Int {
        guard outboundSeal != nil else { return min(head.byteCount, headOffset + Self.writePieceBytes) }
        let payloadBytes = head.payload?.readableBytes ?? 0
        if headSeal == nil {
            headSeal = head.encodedHeader.withUnsafeBytes { outboundSeal!.begin(header: $0, payloadLength: payloadBytes) }
        }
        let written = max(headOffset - FrameHeader.byteCount, 0)
        if !headSeal!.isComplete, headSeal!.through <= written, let payload = head.payload {
            payload.withUnsafeReadableBytes { bytes in
                let end = headSeal!.through + headSeal!.nextPieceBytes
                headSeal!.take(UnsafeRawBufferPointer(rebasing: bytes[headSeal!.through..<end]))
            }
        }
        if headSeal!.isComplete && headTrailer == nil { headTrailer = headSeal!.finish() }
        return FrameHeader.byteCount + headSeal!.through + (headTrailer == nil ? 0 : FrameSeal.byteCount)
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
        let total = frame.byteCount + (seal?.count ?? 0)
        var offset = 0
        while offset < total {
            let result = write(frame, trailer: seal, from: offset, upTo: total)
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += result
        }
        return true
    }

    /// Writes the frame's bytes from `offset` up to `limit`: its header, its
    /// payload, then its seal (when sealed and made).
    private func write(_ frame: OutgoingFrame, trailer: [UInt8]?, from offset: Int, upTo limit: Int) -> Int {
        frame.encodedHeader.withUnsafeBytes { header -> Int in
            (trailer ?? []).withUnsafeBytes { trailerBytes -> Int in
                func send(_ body: UnsafeRawBufferPointer) -> Int {
                    // On the stack: a frame is sent with no allocation of its own.
                    withUnsafeTemporaryAllocation(of: iovec.self, capacity: 3) { vectors -> Int in
                        var count = 0
                        var skip = offset
                        var left = limit - offset
                        for segment in [header, body, trailerBytes] where segment.count > 0 && left > 0 {
                            if skip >= segment.count {
                                skip -= segment.count
                                continue
                            }
                            let length = min(segment.count - skip, left)
                            vectors[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: segment.baseAddress! + skip), iov_len: length)
                            count += 1
                            left -= length
                            skip = 0
                        }
                        let used = UnsafeMutableBufferPointer(rebasing: vectors[0..<count])
                        if outboundOnLane, let lane {
                            var wakePeer = false
                            let written = lane.write(UnsafeBufferPointer(used), wakePeer: &wakePeer)
                            if wakePeer { ringDoorbell() }
                            guard written > 0 || count == 0 else {
                                errno = EAGAIN
                                return -1
                            }
                            return written
                        }
                        var message = msghdr()
                        message.msg_iov = used.baseAddress
                        message.msg_iovlen = count
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
