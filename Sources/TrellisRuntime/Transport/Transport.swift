import NIOCore
import TrellisCore
import TrellisWire

/// A frame waiting to be written, and the request it completes once written.
struct OutgoingFrame {
    let header: FrameHeader
    let encodedHeader: [UInt8]
    let payload: ByteBuffer?
    let request: RequestCore?

    init(header: FrameHeader, payload: ByteBuffer? = nil, request: RequestCore? = nil) {
        self.header = header
        self.encodedHeader = header.encoded()
        self.payload = payload
        self.request = request
    }

    var byteCount: Int { FrameHeader.byteCount + (payload?.readableBytes ?? 0) }

    /// Whether this side's frames go through the shared-memory lane once this one is written.
    var switchesToLane: Bool { header.kind == .laneSwitch || (header.kind == .laneAccept && header.tag == 1) }
}

/// What a transport reports to the progress engine. Always called with the
/// engine's lock held, from the thread that is making progress.
protocol TransportDelegate: AnyObject {
    /// Where the payload of a rendezvous data frame goes; nil discards it.
    func transport(destinationFor header: FrameHeader, from peer: ProcessID) -> ByteBuffer?
    func transport(received header: FrameHeader, payload: ByteBuffer, from peer: ProcessID)
    func transport(wrote frame: OutgoingFrame)
    /// A connection released by either side has closed (no loss).
    func transport(releasedConnectionClosed peer: ProcessID)
    /// The connection to `peer` is gone: orderly after a goodbye, else a failure.
    func transport(lost peer: ProcessID, error: TrellisError, unsent: [OutgoingFrame], orderly: Bool)
}

/// Moves frames between processes. The progress engine polls it: one thread
/// at a time waits for events without the engine lock, then handles them with
/// the lock held. `SocketTransport` implements it: a TCP connection per
/// pair of processes, whose frames move to a shared-memory lane when both
/// ends are on one host (the connection keeps its handshake, its failure
/// detection and its release; only the bytes take another road, see
/// docs/decisions/0014).
protocol Transport: AnyObject {
    /// How other processes reach this one ("host:port").
    var localAddress: String { get }
    func setAddress(_ address: String, for peer: ProcessID)
    /// Where a peer (or this process) is reached, when known.
    func address(of peer: ProcessID) -> String?
    /// The host at the other end of the connection with `peer` as the
    /// socket has it (the address this side dialed, or the one it accepted
    /// from), not as the peer claims; nil while there is no connection. Lock held.
    func connectedHost(of peer: ProcessID) -> String?
    /// Queues a frame, writing at once when the connection allows. Lock held.
    func send(_ frame: OutgoingFrame, to peer: ProcessID) throws
    /// Blocks for at most `timeoutMilliseconds` (0 polls). Lock not held; one caller at a time.
    func waitForEvents(timeoutMilliseconds: Int32) -> Int
    /// Handles the events the last wait found, and the transport's own deadlines (also after a wait that found none). Lock held.
    func handleEvents(_ count: Int)
    /// Receives everything the transport reports; set once by the engine.
    var delegate: TransportDelegate? { get set }
    /// Interrupts a `waitForEvents` in progress. Any thread.
    func wake()
    /// Whether frames are still queued for writing. Lock held.
    var hasUnsentFrames: Bool { get }
    func hasUnsentFrames(to peers: Set<ProcessID>) -> Bool
    /// Opens a connection to a peer if there is none, so its failure is seen. Lock held.
    func watch(_ peer: ProcessID)
    /// Closes the connection to a peer in good order once its queue drains,
    /// and forgets its address. Lock held.
    func release(_ peer: ProcessID)
    /// Tells every connected peer that a close from here is orderly. Lock held.
    func sayGoodbye()
    /// Whether a connection is still open (after a goodbye: until the peer closes its end). Lock held.
    var hasOpenConnections: Bool { get }
    func debugState() -> String
    /// Closes everything. Lock held.
    func shutdown()
}
