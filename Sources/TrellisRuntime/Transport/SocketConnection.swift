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

    init(fd: Int32, isOutgoing: Bool, peer: ProcessID?, state: State) {
        self.fd = fd
        self.isOutgoing = isOutgoing
        self.peer = peer
        self.state = state
    }

    deinit { staging.deallocate() }

    var stagedBytes: Int { stagingEnd - stagingStart }

    enum WriteOutcome {
        case drained
        case blocked
        case failed(Int32)
    }

    /// Writes queued frames until the socket would block. Each fully written
    /// frame is passed to `written`.
    func flush(_ written: (OutgoingFrame) -> Void) -> WriteOutcome {
        while let head = sendQueue.first {
            let result = write(head, from: headOffset)
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return .blocked }
                return .failed(code)
            }
            headOffset += result
            if headOffset == head.byteCount {
                sendQueue.removeFirst()
                headOffset = 0
                written(head)
            }
        }
        return .drained
    }

    /// Writes one frame without queueing (handshake frames). Fresh sockets take
    /// 56 bytes at once; anything less is a broken connection.
    func writeImmediately(_ frame: OutgoingFrame) -> Bool {
        var offset = 0
        while offset < frame.byteCount {
            let result = write(frame, from: offset)
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += result
        }
        return true
    }

    private func write(_ frame: OutgoingFrame, from offset: Int) -> Int {
        frame.encodedHeader.withUnsafeBytes { header -> Int in
            guard let payload = frame.payload, payload.readableBytes > 0 else {
                return Glibc.send(fd, header.baseAddress! + offset, header.count - offset, Int32(MSG_NOSIGNAL))
            }
            return payload.withUnsafeReadableBytes { body -> Int in
                var vectors: [iovec] = []
                if offset < header.count {
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress! + offset), iov_len: header.count - offset))
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress!), iov_len: body.count))
                } else {
                    let bodyOffset = offset - header.count
                    vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress! + bodyOffset), iov_len: body.count - bodyOffset))
                }
                var message = msghdr()
                return vectors.withUnsafeMutableBufferPointer { pointer in
                    message.msg_iov = pointer.baseAddress
                    message.msg_iovlen = pointer.count
                    return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                }
            }
        }
    }
}
