import Glibc
import CTrellisSystem
import Logging
import NIOCore
import TrellisCore
import TrellisSystem
import TrellisWire

/// The TCP transport: one connection per pair of processes, nonblocking
/// sockets under epoll, polled by the progress engine so that a waiting
/// thread can spin on the socket instead of sleeping (waking a sleeping
/// process costs tens of microseconds on virtual machines).
final class SocketTransport: Transport {
    let localID: ProcessID
    let localAddress: String
    let maximumMessageBytes: Int
    /// The secret a peer must prove it holds; nil: none is asked, and a peer that asks for one is refused.
    private let key: ClusterKey?
    /// `TRELLIS_SEAL_LOOPBACK=1`: seal connections between two loopback
    /// addresses too (by default their handshake proves the key and their
    /// frames go unsealed: nobody but root, who can read the key, can change
    /// bytes that never leave the host's kernel). Either side asking seals both ways.
    private let sealsLoopback = ProcessEnvironment.value("TRELLIS_SEAL_LOOPBACK") == "1"
    let logger: Logger
    private let epollFD: Int32
    private let wakeFD: Int32
    private let listenFD: Int32
    private var addresses: [ProcessID: String] = [:]
    private var connectionsByPeer: [ProcessID: SocketConnection] = [:]
    /// The host each peer's last established connection ran to (the
    /// socket's peer address, or the address this side connected to): a
    /// peer between connections (one released while idle, one lost in a
    /// race) is still known to be where its socket was.
    private var lastConnectedHosts: [ProcessID: String] = [:]
    private var connectionsByFD: [Int32: SocketConnection] = [:]
    /// Frames for a peer whose released connection is still closing; they
    /// go on a new connection once the old one is gone, so that the two
    /// never overlap.
    private var sendsAwaitingReopen: [ProcessID: [OutgoingFrame]] = [:]
    private var isShutDown = false
    /// Set once this process finalizes: a connection that finishes its
    /// handshake after that is said goodbye on at once, so the peer never
    /// sees it close without one.
    private(set) var saidGoodbye = false
    /// Processes that said goodbye and finalized. A process id is never
    /// reused, so a connection from one of them that arrives later is a
    /// leftover of a crossed handshake (its opener closed it as the loser),
    /// not a process talking again: it is dropped without a word to the engine.
    private var finalizedPeers = Set<ProcessID>()
    /// How many connections with each peer both sides have taken into use.
    /// A hello carries the opener's count: one below this side's is a
    /// leftover of a crossed handshake whose winner has come and gone, which
    /// the opener already closed. Taking it would look like a fresh
    /// connection that then closes without a goodbye.
    private var connectionsEstablished: [ProcessID: UInt64] = [:]
    /// Descriptors closed since the last batch of events was handled (the
    /// engine may close one between the wait and the handling): the number
    /// may already belong to a new socket, which must not get the old one's
    /// events (a stale writable event on a socket still connecting would
    /// send the hello too early). Skipping costs nothing: the poll is
    /// level-triggered, so the new socket's own events come again.
    private var closedSinceLastBatch = Set<Int32>()
    /// The engine that owns this transport, so it outlives it. Not `weak`:
    /// a weak reference gives the engine a side table, and every retain and
    /// release of it then takes the slow path (a tenth of a small message's time).
    unowned(unsafe) var delegate: TransportDelegate?
    /// How long a connection the peer turned down (it keeps the one it opened
    /// to this process instead) waits for that one's hello before opening
    /// again: the peer's own may have failed (a SYN lost to a cut link), and
    /// nothing else would tell this side, whose frames would wait forever.
    var rejectedPatienceNanoseconds: UInt64 = 3_000_000_000
    private var rejectedConnections: [SocketConnection] = []

    /// Whether connections between two processes of this host move their
    /// frames to a shared-memory lane (`allowsLanes`).
    let lanesEnabled: Bool

    /// `TRELLIS_TRANSPORTS` lists the transports allowed: "shm,tcp" by
    /// default; "tcp" keeps every frame on the socket.
    static func allowsLanes(_ setting: String?) -> Bool {
        (setting ?? "shm,tcp").lowercased().split(separator: ",").contains { $0.filter { $0 != " " } == "shm" }
    }
    /// Connections whose frames come in through a lane: polled at every
    /// turn, since a ring raises no event of its own. Under the engine lock.
    var laneConnections: [SocketConnection] = []
    var lanesChanged = false
    /// The inbound lanes as the poller last saw them: read by
    /// `waitForEvents` without the lock, so only the poller (in
    /// `handleEvents`) replaces it. It keeps the lanes mapped until then.
    var pollingLanes: [SharedMemoryLane] = []
    /// Events `waitForEvents` found on descriptors (the count it returns also counts lanes with input).
    private var descriptorEvents = 0
    /// Whether `waitForEvents` saw input in a lane (or must assume so: a poll
    /// of the descriptors may have run handlers that write to lanes).
    var laneInputFound = false
    /// Lane connections whose ring was full with frames left to write.
    var blockedLaneOutputs = 0
    /// Turns of the spin since the descriptors were last polled: with lanes,
    /// a spinning poller looks at the rings every turn and at the sockets
    /// every `descriptorPollInterval` turns (a system call each).
    private var spinsSinceDescriptorPoll = 0
    private static let descriptorPollInterval = 16

    // Filled by `waitForEvents`, read by `handleEvents`: only the poller touches them.
    private static let eventCapacity = 256
    private let readyFDs = UnsafeMutablePointer<Int32>.allocate(capacity: SocketTransport.eventCapacity)
    private let readyEvents = UnsafeMutablePointer<UInt32>.allocate(capacity: SocketTransport.eventCapacity)

    /// Payloads at least this large bypass the staging area.
    private static let directReadBytes = 32 * 1024

    /// Payloads of handshake frames are at most this long; any longer is refused before it is read.
    private static let handshakeBytes = HandshakeProof.nonceBytes + HandshakeProof.codeBytes

    init(localID: ProcessID, host: String, maximumMessageBytes: Int, key: ClusterKey?, lanesEnabled: Bool = false, logger: Logger) throws {
        self.localID = localID
        self.key = key
        self.maximumMessageBytes = maximumMessageBytes
        self.logger = logger
        self.lanesEnabled = lanesEnabled
        epollFD = trellis_epoll_create()
        guard epollFD >= 0 else { throw Sockets.failure("epoll_create1", "progress engine") }
        wakeFD = trellis_eventfd()
        guard wakeFD >= 0 else { throw Sockets.failure("eventfd", "progress engine") }
        let listener = try Sockets.listen(host: host)
        listenFD = listener.fd
        localAddress = listener.address
        trellis_epoll_add(epollFD, wakeFD, TRELLIS_EPOLLIN)
        trellis_epoll_add(epollFD, listenFD, TRELLIS_EPOLLIN)
    }

    deinit {
        readyFDs.deallocate()
        readyEvents.deallocate()
    }

    func setAddress(_ address: String, for peer: ProcessID) {
        addresses[peer] = address
    }

    func address(of peer: ProcessID) -> String? {
        peer == localID ? localAddress : addresses[peer]
    }

    func connectedHost(of peer: ProcessID) -> String? {
        lastConnectedHosts[peer]
    }

    private func host(of connection: SocketConnection, peer: ProcessID) -> String? {
        guard let address = connection.isOutgoing ? addresses[peer] : connection.remoteAddress, let colon = address.lastIndex(of: ":") else { return nil }
        return String(address[..<colon])
    }

    var hasUnsentFrames: Bool {
        connectionsByPeer.values.contains { !$0.sendQueue.isEmpty }
    }

    // MARK: Sending

    func send(_ frame: OutgoingFrame, to peer: ProcessID) throws {
        guard !isShutDown else { throw TrellisError(.finalized, "the runtime is finalized") }
        if let connection = connectionsByPeer[peer], connection.released {
            sendsAwaitingReopen[peer, default: []].append(frame)
            return
        }
        if let connection = connectionsByPeer[peer] {
            connection.sendQueue.append(frame)
            if connection.state == .established && connection.sendQueue.count == 1 {
                flush(connection)
            }
            return
        }
        try openConnection(to: peer).sendQueue.append(frame)
    }

    private func openConnection(to peer: ProcessID) throws -> SocketConnection {
        guard let address = addresses[peer] else {
            throw TrellisError(.connectionFailed, "no address is known for process \(peer)")
        }
        let fd = try Sockets.startConnect(to: address)
        let connection = SocketConnection(fd: fd, isOutgoing: true, peer: peer, state: .connecting)
        connection.wantsWritable = true
        connectionsByPeer[peer] = connection
        connectionsByFD[fd] = connection
        trellis_epoll_add(epollFD, fd, TRELLIS_EPOLLIN | TRELLIS_EPOLLOUT | TRELLIS_EPOLLRDHUP)
        return connection
    }

    func watch(_ peer: ProcessID) {
        guard !isShutDown, connectionsByPeer[peer] == nil, addresses[peer] != nil else { return }
        do { _ = try openConnection(to: peer) } catch {
            logger.debug("cannot watch process \(peer): \(error)")
        }
    }

    func flush(_ connection: SocketConnection) {
        var outcome = connection.flush { frame in delegate?.transport(wrote: frame) }
        // A full ring raises no event when it empties: the peer is asked to ring once it has read.
        while case .blocked = outcome, connection.outboundOnLane, let lane = connection.lane {
            if !connection.laneOutputBlocked { blockedLaneOutputs += 1 }
            connection.laneOutputBlocked = true
            if lane.producerWillSleep() { break }
            outcome = connection.flush { frame in delegate?.transport(wrote: frame) }
        }
        if connection.laneOutputBlocked, case .drained = outcome {
            blockedLaneOutputs -= 1
            connection.laneOutputBlocked = false
            connection.lane?.producerAwake()
        }
        switch outcome {
        case .drained:
            setWantsWritable(connection, false)
            if connection.closingAfterFlush { Glibc.shutdown(connection.fd, Int32(SHUT_WR)) }
        case .blocked:
            setWantsWritable(connection, !connection.outboundOnLane)
        case .failed(let code):
            let peer = connection.peer.map(String.init(describing:)) ?? "?"
            fail(connection, error: TrellisError(
                .peerFailed, "writing to process \(peer) failed", underlying: SystemCallError("sendmsg", errno: code)))
        }
    }

    private func setWantsWritable(_ connection: SocketConnection, _ wanted: Bool) {
        guard connection.wantsWritable != wanted, connection.descriptorOpen else { return }
        connection.wantsWritable = wanted
        let events = TRELLIS_EPOLLIN | TRELLIS_EPOLLRDHUP | (wanted ? TRELLIS_EPOLLOUT : 0)
        trellis_epoll_modify(epollFD, connection.fd, events)
    }

    // MARK: Polling

    func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    func waitForEvents(timeoutMilliseconds: Int32) -> Int {
        descriptorEvents = 0
        laneInputFound = false
        let lanes = pollingLanes
        guard !lanes.isEmpty else { return pollDescriptors(timeoutMilliseconds) }
        var lanesWithInput = 0
        for lane in lanes where lane.hasInput { lanesWithInput += 1 }
        laneInputFound = lanesWithInput > 0
        if lanesWithInput > 0 || timeoutMilliseconds == 0 {
            spinsSinceDescriptorPoll += 1
            guard spinsSinceDescriptorPoll >= Self.descriptorPollInterval else { return lanesWithInput }
            return lanesWithInput + pollDescriptors(0)
        }
        // About to sleep: every lane's peer is asked to ring the socket once
        // it writes, and a lane written to meanwhile cancels the sleep.
        var maySleep = true
        for lane in lanes where !lane.consumerWillSleep() { maySleep = false }
        let count = pollDescriptors(maySleep ? timeoutMilliseconds : 0)
        for lane in lanes { lane.consumerAwake() }
        for lane in lanes where lane.hasInput { lanesWithInput += 1 }
        laneInputFound = lanesWithInput > 0
        return count + lanesWithInput
    }

    private func pollDescriptors(_ timeoutMilliseconds: Int32) -> Int {
        spinsSinceDescriptorPoll = 0
        let count = trellis_epoll_wait(epollFD, readyFDs, readyEvents, Int32(Self.eventCapacity), timeoutMilliseconds)
        descriptorEvents = max(Int(count), 0)
        return descriptorEvents
    }

    func handleEvents(_ count: Int) {
        defer { closedSinceLastBatch.removeAll(keepingCapacity: true) }
        if !rejectedConnections.isEmpty { reopenRejectedPastPatience() }
        // A spinning poller that found nothing skips the walk over the lanes.
        defer { if laneInputFound || descriptorEvents > 0 || blockedLaneOutputs > 0 || lanesChanged { handleLanes() } }
        for index in 0..<descriptorEvents {
            let fd = readyFDs[index]
            let events = readyEvents[index]
            if closedSinceLastBatch.contains(fd) {
                continue
            } else if fd == wakeFD {
                var value: UInt64 = 0
                _ = Glibc.read(wakeFD, &value, 8)
            } else if fd == listenFD {
                acceptConnections()
            } else if let connection = connectionsByFD[fd] {
                if events & TRELLIS_EPOLLOUT != 0 { handleWritable(connection) }
                if events & (TRELLIS_EPOLLIN | TRELLIS_EPOLLHUP | TRELLIS_EPOLLERR | TRELLIS_EPOLLRDHUP) != 0,
                    connection.state != .closed, connection.state != .rejected
                {
                    handleReadable(connection)
                }
            }
        }
    }

    private func acceptConnections() {
        while let fd = Sockets.acceptConnection(listenFD) {
            let connection = SocketConnection(fd: fd, isOutgoing: false, peer: nil, state: .awaitingHello)
            connection.remoteAddress = Sockets.remoteAddress(fd)
            connection.acceptorNonce = HandshakeProof.newNonce()
            connectionsByFD[fd] = connection
            trellis_epoll_add(epollFD, fd, TRELLIS_EPOLLIN | TRELLIS_EPOLLRDHUP)
            // The acceptor speaks first: nothing the opener sends counts until it answers this.
            let challenge = OutgoingFrame(
                header: FrameHeader(
                    kind: .challenge, payloadLength: UInt64(HandshakeProof.nonceBytes), exchange: localID.rawValue, aux: key == nil ? 0 : 1),
                payload: ByteBuffer(bytes: connection.acceptorNonce))
            if !connection.writeImmediately(challenge) { closeQuietly(connection) }
        }
    }

    private func handleWritable(_ connection: SocketConnection) {
        switch connection.state {
        case .connecting:
            let code = Sockets.pendingError(connection.fd)
            guard code == 0 else {
                let address = connection.peer.flatMap { addresses[$0] } ?? "?"
                fail(connection, error: TrellisError(
                    .connectionFailed, "could not connect to process \(connection.peer!) at \(address)",
                    underlying: SystemCallError("connect", errno: code)))
                return
            }
            // The hello answers the acceptor's challenge.
            connection.state = .awaitingChallenge
            setWantsWritable(connection, false)
        case .established:
            flush(connection)
        default:
            setWantsWritable(connection, false)
        }
    }

    // MARK: Reading

    private func handleReadable(_ connection: SocketConnection) {
        do {
            if connection.inboundOnLane {
                // The socket carries wake-ups and, at the end, the peer's close:
                // what the peer wrote to the lane before closing is read first.
                let open = try connection.drainDoorbells()
                _ = try readFrames(connection)
                if !open, connection.state != .closed { closed(connection) }
                return
            }
            let open = try readFrames(connection)
            if !open { closed(connection) }
        } catch let error as TrellisError {
            fail(connection, error: error)
        } catch {
            fail(connection, error: TrellisError(.protocolViolation, "\(error)"))
        }
    }

    /// Reads and dispatches frames until the socket is drained: the poll is
    /// level-triggered on the socket, not on the staging area, so stopping
    /// early could strand whole frames there. Returns false at end of stream.
    func readFrames(_ connection: SocketConnection) throws -> Bool {
        // A read into the staging area that filled less than it asked for
        // emptied the socket (or the lane): another would only say so, a
        // system call per small message. The poll is level-triggered, so
        // bytes that come later raise an event.
        var drained = false
        while connection.state != .closed && connection.state != .rejected {
            if let header = connection.inboundHeader {
                if connection.inboundRemaining == 0 && connection.awaitingTrailer && connection.stagedBytes >= FrameSeal.byteCount {
                    let start = connection.stagingStart
                    connection.inboundTrailer.copyMemory(from: UnsafeRawBufferPointer(rebasing: connection.staging[start..<start + FrameSeal.byteCount]))
                    connection.stagingStart += FrameSeal.byteCount
                    connection.awaitingTrailer = false
                }
                if connection.inboundRemaining == 0 && !connection.awaitingTrailer {
                    try deliver(header, on: connection)
                    continue
                }
                if connection.stagedBytes > 0 && connection.inboundRemaining > 0 {
                    let take = min(connection.stagedBytes, connection.inboundRemaining)
                    if connection.inboundPayload != nil {
                        let start = connection.stagingStart
                        connection.inboundPayload!.writeBytes(UnsafeRawBufferPointer(rebasing: connection.staging[start..<start + take]))
                    }
                    connection.stagingStart += take
                    connection.inboundRemaining -= take
                    connection.sealArrivedPayload()
                    continue
                }
                if connection.stagedBytes == 0 {
                    connection.stagingStart = 0
                    connection.stagingEnd = 0
                }
                if drained { return true }
                if connection.inboundRemaining >= Self.directReadBytes && connection.inboundPayload != nil {
                    var result = 0
                    let wanted = connection.inboundRemaining
                    connection.inboundPayload!.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { target in
                        result = connection.receive(into: target.baseAddress!, count: min(target.count, wanted))
                        return max(result, 0)
                    }
                    guard try accept(readResult: result) else { return result != 0 }
                    // A large payload keeps being read while it comes: the
                    // next read usually finds more, cheaper than another poll.
                    connection.inboundRemaining -= result
                    connection.sealArrivedPayload()
                    continue
                }
            } else if connection.stagedBytes >= FrameHeader.byteCount {
                let start = connection.stagingStart
                let headerBytes = UnsafeRawBufferPointer(rebasing: connection.staging[start..<start + FrameHeader.byteCount])
                let header = try FrameHeader.decode(from: headerBytes)
                try beginPayload(of: header, on: connection)
                connection.beginInboundSeal(header: headerBytes, payloadLength: Int(header.payloadLength))
                connection.stagingStart += FrameHeader.byteCount
                connection.sealArrivedPayload()
                continue
            }
            // More bytes are needed in the staging area.
            if drained { return true }
            if connection.stagingStart > 0 {
                let staged = connection.stagedBytes
                if staged > 0 {
                    memmove(connection.staging.baseAddress!, connection.staging.baseAddress! + connection.stagingStart, staged)
                }
                connection.stagingStart = 0
                connection.stagingEnd = staged
            }
            let space = SocketConnection.stagingCapacity - connection.stagingEnd
            let result = connection.receive(into: connection.staging.baseAddress! + connection.stagingEnd, count: space)
            guard try accept(readResult: result) else { return result != 0 }
            drained = result < space
            connection.stagingEnd += result
        }
        return true
    }

    /// True when bytes were read; false when the socket is drained (or at end
    /// of stream, result 0); throws on a socket error.
    private func accept(readResult result: Int) throws -> Bool {
        if result > 0 { return true }
        if result == 0 { return false }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return false }
        throw TrellisError(.peerFailed, "reading from a peer failed", underlying: SystemCallError("read", errno: code))
    }

    private func beginPayload(of header: FrameHeader, on connection: SocketConnection) throws {
        guard header.payloadLength <= UInt64(maximumMessageBytes) else {
            throw TrellisError(.protocolViolation, "a frame announced \(header.payloadLength) bytes, above the \(maximumMessageBytes)-byte limit")
        }
        if connection.state != .established {
            // Before the handshake ends only its own small frames are read, so a peer that has proven
            // nothing makes this process neither keep its bytes nor deliver them.
            guard [.challenge, .hello, .helloAcknowledge].contains(header.kind) else {
                throw TrellisError(.protocolViolation, "a \(header.kind) frame came before the handshake from \(describe(connection))")
            }
            guard header.payloadLength <= UInt64(Self.handshakeBytes) else {
                throw TrellisError(.protocolViolation, "a handshake frame of \(header.payloadLength) bytes came from \(describe(connection))")
            }
        }
        let length = Int(header.payloadLength)
        connection.inboundHeader = header
        connection.inboundRemaining = length
        connection.discardingPayload = false
        switch header.kind {
        case .rendezvousData:
            guard let peer = connection.peer, connection.state == .established else {
                throw TrellisError(.protocolViolation, "data frame before the handshake")
            }
            if let destination = delegate?.transport(destinationFor: header, from: peer) ?? nil {
                connection.inboundPayload = destination
            } else {
                connection.discardingPayload = true
                // Unwanted bytes are still kept until the seal over them is checked.
                if connection.inboundSeal != nil { connection.inboundPayload = ByteBufferAllocator().buffer(capacity: length) }
            }
        default:
            connection.inboundPayload = ByteBufferAllocator().buffer(capacity: length)
        }
    }

    private func deliver(_ header: FrameHeader, on connection: SocketConnection) throws {
        guard connection.inboundSealHolds() else {
            logger.warning("closed the connection with \(describe(connection)): a \(header.kind) frame failed its seal check (altered, replayed or out of order)")
            throw TrellisError(.authenticationFailed, "a \(header.kind) frame from \(describe(connection)) failed its seal check: the stream was altered")
        }
        let payload = connection.inboundPayload
        let discarded = connection.discardingPayload
        connection.inboundHeader = nil
        connection.inboundPayload = nil
        connection.discardingPayload = false
        switch header.kind {
        case .challenge:
            try receiveChallenge(header, payload: payload, on: connection)
        case .hello:
            try receiveHello(header, payload: payload, on: connection)
        case .helloAcknowledge:
            try receiveAcknowledge(header, payload: payload, on: connection)
        case .goodbye where header.tag == 1:
            // The peer let this connection go; answer in kind once what is
            // queued here is out, and send anything later on a new one.
            connection.released = true
            closeAfterFlush(connection)
        case .goodbye:
            connection.goodbyeReceived = true
        case .laneOffer, .laneAccept, .laneSwitch:
            guard connection.state == .established else {
                throw TrellisError(.protocolViolation, "\(header.kind) frame before the handshake from \(describe(connection))")
            }
            try receiveLaneFrame(header, payload: payload, on: connection)
        default:
            guard connection.state == .established, let peer = connection.peer else {
                throw TrellisError(.protocolViolation, "\(header.kind) frame before the handshake")
            }
            if !discarded, let payload {
                delegate?.transport(received: header, payload: payload, from: peer)
            }
        }
    }

    // MARK: Handshake

    /// Both sides may connect at once; the connection opened by the smaller
    /// process id is kept, and the frames queued on the other move over to it.
    /// The loser's hello can be read long after (on a loaded host, after the
    /// winner was used and released): its count of established connections
    /// is then behind this side's, and it is refused.
    private func receiveHello(_ header: FrameHeader, payload: ByteBuffer?, on connection: SocketConnection) throws {
        guard connection.state == .awaitingHello else {
            throw TrellisError(.protocolViolation, "unexpected hello from \(describe(connection))")
        }
        let peer = ProcessID(rawValue: header.exchange)
        var bytes = payload.map { Array($0.readableBytesView) } ?? []
        guard bytes.count >= HandshakeProof.nonceBytes else {
            throw TrellisError(.protocolViolation, "a hello without a nonce came from \(describe(connection))")
        }
        connection.openerNonce = Array(bytes.prefix(HandshakeProof.nonceBytes))
        bytes.removeFirst(HandshakeProof.nonceBytes)
        let proof = HandshakeProof(acceptorNonce: connection.acceptorNonce, openerNonce: connection.openerNonce, opener: peer, acceptor: localID)
        if let key, !proof.isOpenerCode(bytes, key) {
            // Refused before anything it sends is read; nothing here learns of it but the log. The opener is
            // told (tag 3), so that it fails at once with the reason rather than take the close for a lost peer.
            logger.warning("refused a connection from \(connection.remoteAddress) (calling itself process \(peer)): it did not prove it holds the cluster key")
            _ = connection.writeImmediately(OutgoingFrame(header: FrameHeader(kind: .helloAcknowledge, tag: 3, exchange: localID.rawValue)))
            closeQuietly(connection)
            return
        }
        guard !finalizedPeers.contains(peer) else {
            closeQuietly(connection)
            return
        }
        connection.peer = peer
        guard header.aux >= connectionsEstablished[peer, default: 0] else {
            // Tag 2 carries this side's count: a peer whose count fell behind because an acknowledgement was
            // lost (a link cut mid-handshake) catches up and connects again, rather than wait for a hello.
            let behind = FrameHeader(kind: .helloAcknowledge, tag: 2, exchange: localID.rawValue, aux: connectionsEstablished[peer, default: 0])
            _ = connection.writeImmediately(acknowledgement(behind, proof))
            closeQuietly(connection)
            return
        }
        var keep = true
        if let existing = connectionsByPeer[peer], existing !== connection, existing.state == .established, !existing.released,
            header.aux >= connectionsEstablished[peer, default: 0]
        {
            // The peer connects again though this side still holds an established connection: it counted every
            // connection this side did, so it is not the loser of a race, and it gave the old one up as lost (a cut
            // link this side has not noticed yet: its retransmissions went nowhere). What was on the old one is lost.
            fail(existing, error: TrellisError(
                .peerFailed, "process \(peer) connected again after losing its connection to this one (a cut link?)",
                underlying: SystemCallError("read", errno: ETIMEDOUT)))
        }
        if let existing = connectionsByPeer[peer], existing !== connection {
            let existingIsLosingOutgoing = existing.isOutgoing && existing.state != .established && peer < localID
            if existing.released {
                // This side let the old connection go and the peer has seen
                // that: the old one finishes closing on its own, and frames
                // held back for the peer take the new one.
                connectionsByPeer[peer] = nil
                connection.sendQueue.append(contentsOf: sendsAwaitingReopen.removeValue(forKey: peer) ?? [])
            } else if existingIsLosingOutgoing {
                connection.sendQueue = existing.sendQueue
                existing.sendQueue.removeAll()
                closeQuietly(existing)
            } else {
                keep = false
            }
        }
        let seals = header.flags.contains(.sealed) || wantsSeals(connection)
        let answer = acknowledgement(FrameHeader(kind: .helloAcknowledge, flags: seals ? .sealed : [], tag: keep ? 1 : 0, exchange: localID.rawValue), proof)
        guard connection.writeImmediately(answer), keep else {
            closeQuietly(connection)
            return
        }
        connection.state = .established
        if seals { startSealing(connection, proof) }
        connectionsByPeer[peer] = connection
        lastConnectedHosts[peer] = host(of: connection, peer: peer) ?? lastConnectedHosts[peer]
        connectionsEstablished[peer, default: 0] += 1
        if !connection.sendQueue.isEmpty { flush(connection) }
        if saidGoodbye { closeAfterFlush(connection) }
    }

    /// Whether this side seals the connection's frames: with a key, unless
    /// both ends are loopback addresses (`sealsLoopback`).
    private func wantsSeals(_ connection: SocketConnection) -> Bool {
        key != nil && (sealsLoopback || !Sockets.isLoopback(connection.fd))
    }

    /// With a key, every frame after the handshake carries a seal, one counter per direction.
    private func startSealing(_ connection: SocketConnection, _ proof: HandshakeProof) {
        guard let key else { return }
        let outbound: FrameSeal.Direction = connection.isOutgoing ? .openerToAcceptor : .acceptorToOpener
        let inbound: FrameSeal.Direction = connection.isOutgoing ? .acceptorToOpener : .openerToAcceptor
        connection.outboundSeal = FrameSeal(key: key, proof: proof, direction: outbound)
        connection.inboundSeal = FrameSeal(key: key, proof: proof, direction: inbound)
    }

    /// `header` with the acceptor's proof of the key, when one is used.
    private func acknowledgement(_ header: FrameHeader, _ proof: HandshakeProof) -> OutgoingFrame {
        guard let key else { return OutgoingFrame(header: header) }
        var header = header
        let code = proof.acceptorCode(key)
        header.payloadLength = UInt64(code.count)
        return OutgoingFrame(header: header, payload: ByteBuffer(bytes: code))
    }

    /// The opener's turn: its nonce and, when the acceptor asks for it, its
    /// proof of the key. A process that holds a key never talks to one that
    /// asks for none (it could be anyone), nor the other way round.
    private func receiveChallenge(_ header: FrameHeader, payload: ByteBuffer?, on connection: SocketConnection) throws {
        guard connection.state == .awaitingChallenge, let peer = connection.peer else {
            throw TrellisError(.protocolViolation, "unexpected challenge from \(describe(connection))")
        }
        let nonce = payload.map { Array($0.readableBytesView) } ?? []
        guard nonce.count == HandshakeProof.nonceBytes else {
            throw TrellisError(.protocolViolation, "a challenge of \(nonce.count) bytes came from \(describe(connection))")
        }
        let asksForKey = header.aux == 1
        if !asksForKey, key != nil {
            let reason = "it asks for no key, and this process holds one: it talks only to processes that prove they hold it too"
            fail(connection, error: TrellisError(.authenticationFailed, "refused to connect to \(describe(connection)): \(reason)"))
            return
        }
        connection.acceptorNonce = nonce
        connection.openerNonce = HandshakeProof.newNonce()
        var body = connection.openerNonce
        if let key {
            body += HandshakeProof(acceptorNonce: nonce, openerNonce: connection.openerNonce, opener: localID, acceptor: peer).openerCode(key)
        }
        let established = connectionsEstablished[peer, default: 0]
        let hello = OutgoingFrame(
            header: FrameHeader(
                kind: .hello, flags: wantsSeals(connection) ? .sealed : [], payloadLength: UInt64(body.count), exchange: localID.rawValue, aux: established),
            payload: ByteBuffer(bytes: body))
        let sent = connection.writeImmediately(hello)
        if asksForKey, key == nil {
            // The hello went without a proof, so that the acceptor logs whom it refuses; this side knows the outcome already.
            let reason = "it asks for the cluster key, and this process holds none (TRELLIS_KEY_FILE names one)"
            fail(connection, error: TrellisError(.authenticationFailed, "refused to connect to \(describe(connection)): \(reason)"))
            return
        }
        guard sent else {
            fail(connection, error: TrellisError(.connectionFailed, "handshake with \(describe(connection)) failed"))
            return
        }
        connection.state = .awaitingAcknowledge
    }

    /// "process P at ADDRESS", or the address an accepted connection came from.
    func describe(_ connection: SocketConnection) -> String {
        guard let peer = connection.peer else { return connection.remoteAddress }
        return "process \(peer) at \(addresses[peer] ?? connection.remoteAddress)"
    }

    private func receiveAcknowledge(_ header: FrameHeader, payload: ByteBuffer?, on connection: SocketConnection) throws {
        guard connection.state == .awaitingAcknowledge, let peer = connection.peer else {
            throw TrellisError(.protocolViolation, "unexpected hello acknowledgement from \(describe(connection))")
        }
        if header.tag == 3 {
            fail(connection, error: TrellisError(
                .authenticationFailed, "\(describe(connection)) refused this process: it holds another cluster key, or this process holds none"))
            return
        }
        let proof = HandshakeProof(acceptorNonce: connection.acceptorNonce, openerNonce: connection.openerNonce, opener: localID, acceptor: peer)
        if let key {
            guard proof.isAcceptorCode(payload.map { Array($0.readableBytesView) } ?? [], key) else {
                fail(connection, error: TrellisError(.authenticationFailed, "\(describe(connection)) did not prove it holds the cluster key"))
                return
            }
        }
        if header.tag == 1 {
            connection.state = .established
            if header.flags.contains(.sealed) || wantsSeals(connection) { startSealing(connection, proof) }
            connectionsEstablished[connection.peer!, default: 0] += 1
            lastConnectedHosts[connection.peer!] = host(of: connection, peer: connection.peer!) ?? lastConnectedHosts[connection.peer!]
            offerLane(on: connection)
            if !connection.sendQueue.isEmpty { flush(connection) }
            if saidGoodbye { closeAfterFlush(connection) }
        } else if header.tag == 2, let peer = connection.peer {
            // Refused as stale: the peer counted a connection this side never saw established. A late
            // hello of a lost race is refused so too, and then another connection already carries the frames.
            connectionsEstablished[peer] = max(connectionsEstablished[peer, default: 0], header.aux)
            let frames = connection.sendQueue
            connection.sendQueue.removeAll()
            let current = connectionsByPeer[peer] === connection
            closeQuietly(connection)
            guard current, !frames.isEmpty, !isShutDown else { return }
            do {
                try openConnection(to: peer).sendQueue.append(contentsOf: frames)
            } catch let error as TrellisError {
                delegate?.transport(lost: peer, error: error, unsent: Array(frames), orderly: false)
            } catch {}
        } else {
            // The peer keeps the connection it opened to us; our queue waits for its hello.
            closeDescriptor(connection)
            connection.state = .rejected
            connection.rejectedAt = MonotonicClock.nanoseconds()
            rejectedConnections.append(connection)
        }
    }

    /// Opens again, with their frames, the turned-down connections whose peer's hello has not come within the patience.
    private func reopenRejectedPastPatience() {
        let now = MonotonicClock.nanoseconds()
        var due: [(ProcessID, SocketConnection)] = []
        rejectedConnections.removeAll { connection in
            guard connection.state == .rejected, let peer = connection.peer, connectionsByPeer[peer] === connection, !isShutDown else { return true }
            guard now &- connection.rejectedAt >= rejectedPatienceNanoseconds else { return false }
            due.append((peer, connection))
            return true
        }
        for (peer, connection) in due {
            let frames = Array(connection.sendQueue)
            connection.sendQueue.removeAll()
            connection.state = .closed
            connectionsByPeer[peer] = nil
            logger.debug("process \(peer) turned a connection down for its own, whose hello did not come; connecting again")
            do {
                try openConnection(to: peer).sendQueue.append(contentsOf: frames)
            } catch let error as TrellisError {
                delegate?.transport(lost: peer, error: error, unsent: frames, orderly: false)
            } catch {}
        }
    }

    // MARK: Closing

    /// Closes the socket once. The descriptor number may be reused right
    /// away, so the map entry goes only if it still points at this connection.
    private func closeDescriptor(_ connection: SocketConnection) {
        guard connection.descriptorOpen else { return }
        connection.descriptorOpen = false
        closedSinceLastBatch.insert(connection.fd)
        trellis_epoll_remove(epollFD, connection.fd)
        Glibc.close(connection.fd)
        if connectionsByFD[connection.fd] === connection { connectionsByFD[connection.fd] = nil }
    }

    private func closeQuietly(_ connection: SocketConnection) {
        guard connection.state != .closed else { return }
        closeDescriptor(connection)
        connection.state = .closed
        if connection.laneOutputBlocked {
            connection.laneOutputBlocked = false
            blockedLaneOutputs -= 1
        }
        if connection.lane != nil || connection.offeredLane != nil {
            // Unmapped once no poller looks at it any more.
            connection.lane = nil
            connection.offeredLane = nil
            lanesChanged = true
        }
        if let peer = connection.peer, connectionsByPeer[peer] === connection {
            connectionsByPeer[peer] = nil
        }
    }

    /// End of stream: orderly if the peer said goodbye, a failure otherwise.
    private func closed(_ connection: SocketConnection) {
        guard let peer = connection.peer, connectionsByPeer[peer] === connection else {
            closeQuietly(connection)
            if connection.released, let peer = connection.peer { delegate?.transport(releasedConnectionClosed: peer) }
            return
        }
        if connection.released {
            closeQuietly(connection)
            reopenIfNeeded(peer)
            delegate?.transport(releasedConnectionClosed: peer)
            return
        }
        let unsent = Array(connection.sendQueue)
        connection.sendQueue.removeAll()
        let orderly = connection.goodbyeReceived || connection.closingAfterFlush
        if connection.goodbyeReceived && !connection.closingAfterFlush {
            // Answer in kind, so the peer sees an orderly close too.
            _ = connection.writeImmediately(OutgoingFrame(header: FrameHeader(kind: .goodbye)))
        }
        closeQuietly(connection)
        if connection.goodbyeReceived { finalizedPeers.insert(peer) }
        if orderly {
            delegate?.transport(lost: peer, error: TrellisError(.peerFailed, "process \(peer) has finalized"), unsent: unsent, orderly: true)
        } else {
            delegate?.transport(lost: peer, error: TrellisError(.peerFailed, "connection to process \(peer) closed unexpectedly"), unsent: unsent, orderly: false)
        }
    }

    func fail(_ connection: SocketConnection, error: TrellisError) {
        guard connection.state != .closed else { return }
        guard let peer = connection.peer, connectionsByPeer[peer] === connection else {
            logger.debug("dropping a connection that was not in use: \(error)")
            closeQuietly(connection)
            return
        }
        let unsent = Array(connection.sendQueue)
        connection.sendQueue.removeAll()
        // A reset after either side said goodbye is the end of an orderly close, not a failure.
        let orderly = connection.goodbyeReceived || connection.closingAfterFlush
        if connection.goodbyeReceived { finalizedPeers.insert(peer) }
        closeQuietly(connection)
        let waiting = sendsAwaitingReopen.removeValue(forKey: peer) ?? []
        delegate?.transport(lost: peer, error: error, unsent: unsent + waiting, orderly: orderly)
    }

    func sayGoodbye() {
        saidGoodbye = true
        for connection in connectionsByPeer.values where connection.state == .established {
            closeAfterFlush(connection)
        }
    }

    /// Queues a goodbye after what is queued and shuts the write side once
    /// it is out. A released connection's goodbye (tag 1) tells the peer that
    /// only this connection ends, not the process.
    private func closeAfterFlush(_ connection: SocketConnection) {
        guard !connection.closingAfterFlush else { return }
        connection.closingAfterFlush = true
        connection.sendQueue.append(OutgoingFrame(header: FrameHeader(kind: .goodbye, tag: connection.released ? 1 : 0)))
        if connection.sendQueue.count == 1 { flush(connection) }
    }

    func hasUnsentFrames(to peers: Set<ProcessID>) -> Bool {
        peers.contains { connectionsByPeer[$0].map { !$0.sendQueue.isEmpty } ?? false }
    }

    func release(_ peer: ProcessID) {
        guard let connection = connectionsByPeer[peer], connection.state == .established, !connection.closingAfterFlush else { return }
        connection.released = true
        closeAfterFlush(connection)
    }

    /// After a released connection is gone: frames sent meanwhile take a new one.
    private func reopenIfNeeded(_ peer: ProcessID) {
        guard let frames = sendsAwaitingReopen.removeValue(forKey: peer), !frames.isEmpty else { return }
        do {
            let connection = try openConnection(to: peer)
            connection.sendQueue.append(contentsOf: frames)
        } catch let error as TrellisError {
            delegate?.transport(lost: peer, error: error, unsent: frames, orderly: false)
        } catch {}
    }

    /// Established connections, and those still in their handshake (which
    /// get their goodbye once it completes): finalize waits for both, up to
    /// its deadline, rather than cut a handshake off without a goodbye.
    var hasOpenConnections: Bool {
        connectionsByFD.values.contains { connection in
            guard connection.descriptorOpen else { return false }
            switch connection.state {
            case .established, .connecting, .awaitingChallenge, .awaitingAcknowledge, .awaitingHello: return true
            case .rejected, .closed: return false
            }
        }
    }

    func debugState() -> String {
        connectionsByFD.values.map { connection in
            let lane = connection.lane == nil ? "" : " lane in \(connection.inboundOnLane) out \(connection.outboundOnLane) blocked \(connection.laneOutputBlocked)"
            return "  fd \(connection.fd)\(lane) peer \(connection.peer.map(String.init(describing:)) ?? "?") \(connection.state) queue \(connection.sendQueue.count) head offset \(connection.headOffset) wants-writable \(connection.wantsWritable) staged \(connection.stagedBytes) inbound \(connection.inboundHeader.map { "\($0.kind) remaining \(connection.inboundRemaining)" } ?? "none")"
        }.joined(separator: "\n")
    }

    func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        for connection in connectionsByFD.values { closeQuietly(connection) }
        for connection in connectionsByPeer.values { closeQuietly(connection) }
        laneConnections.removeAll()
        pollingLanes.removeAll()
        Glibc.close(listenFD)
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
    }
}
