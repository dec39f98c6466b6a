import Glibc
import Dispatch
import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisFSStorage
import TrellisSystem

/// Datafiles made ahead of need on every other server (OrangeFS's
/// precreate pools), so a new spread file takes its remote datafiles from
/// here and its create waits on no peer. The pool lives in the metadata
/// database, so a restart keeps it and fsck sees it; a thread of its own
/// refills a server's share in one request whenever it falls below half
/// a batch.
public final class DatafilePool: @unchecked Sendable {
    private let store: any MetadataStore
    private let peers: PeerLinks
    private let serverIndex: Int
    private let batch: Int
    private let log: @Sendable (String) -> Void
    /// Whether this server's copy of its group serves as the primary: only then does the pool refill (a copy out of service must not change its rows).
    private let isServing: @Sendable () -> Bool
    /// Pooled datafiles per server, as the database holds them.
    private let counts: Mutex<[Int]>
    /// Signalled once when a take runs a share low (the flag keeps a burst of takes to one signal).
    private let wakeup = DispatchSemaphore(value: 0)
    private let wakeupPending = Mutex<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private var thread: pthread_t?

    /// A pool that keeps `batch` datafiles of every other server in `store`, refilled through `peers` once `start` runs; counts what the store already holds.
    public init(
        store: any MetadataStore, peers: PeerLinks, serverIndex: Int, serverCount: Int, batch: Int,
        isServing: @escaping @Sendable () -> Bool = { true }, log: @escaping @Sendable (String) -> Void
    ) throws {
        self.store = store
        self.isServing = isServing
        self.peers = peers
        self.serverIndex = serverIndex
        self.batch = min(batch, SQLiteMetadataStore.maximumDatafilesAtOnce)
        self.log = log
        var counts = [Int](repeating: 0, count: serverCount)
        for handle in try store.pooledDatafiles() {
            if let server = handle.server, counts.indices.contains(server) { counts[server] += 1 }
        }
        self.counts = Mutex(counts)
    }

    /// Whether every other server has a datafile in the pool, so any new file can be spread without a fan-out.
    public var holdsEveryServer: Bool {
        counts.withLock { counts in counts.indices.allSatisfy { $0 == serverIndex || counts[$0] > 0 } }
    }

    /// One pooled datafile of each server listed (nil where none is left).
    public func take(servers: [Int]) throws -> [ObjectHandle?] {
        guard !servers.isEmpty else { return [] }
        let taken = try store.takeFromPool(servers: servers)
        let low = counts.withLock { counts in
            // A share that came up empty is empty, whatever the count said (a group commit that
            // failed undoes a give-back): a wrong count would keep creates in the loop needing a peer.
            for (server, handle) in zip(servers, taken) { counts[server] = handle == nil ? 0 : max(counts[server] - 1, 0) }
            return servers.contains { counts[$0] < batch / 2 }
        }
        if low, wakeupPending.withLock({ let first = !$0; $0 = true; return first }) { wakeup.signal() }
        return taken
    }

    /// Datafiles taken for a file that was not made after all.
    public func giveBack(_ handles: [ObjectHandle]) {
        do {
            try store.addToPool(handles)
            counts.withLock { counts in for handle in handles { if let server = handle.server { counts[server] += 1 } } }
        } catch {
            log("returning \(handles.count) datafiles to the pool failed (fsck finds them as orphans): \(error)")
        }
    }

    /// Starts the refill thread.
    public func start() {
        thread = startThread(named: "datafile pool") { [self] in refillLoop() }
    }

    /// Tells the refill thread to start no more refills.
    public func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wakeup.signal()
    }

    /// Stops and joins the refill thread (before the peer links close).
    public func stop() {
        requestStop()
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    private func refillLoop() {
        var retryAt = [UInt64](repeating: 0, count: counts.withLock { $0.count })
        var lastLogged = [String?](repeating: nil, count: retryAt.count)
        // Peers that are still starting fail the first tries: that is no news.
        let quietUntil = MonotonicClock.nanoseconds() + 10_000_000_000
        while !stopRequested.load(ordering: .acquiring) {
            let now = MonotonicClock.nanoseconds()
            guard isServing() else {
                sleepUntilWokenOrTimeout()
                continue
            }
            let wanted = counts.withLock { counts in
                counts.indices.filter { $0 != serverIndex && counts[$0] <= batch / 2 && retryAt[$0] <= now }.map { ($0, batch - counts[$0]) }
            }
            for (server, count) in wanted {
                guard !stopRequested.load(ordering: .acquiring) else { return }
                do {
                    try refill(server: server, count: count)
                    lastLogged[server] = nil
                } catch {
                    // A peer still starting or down: try again later, and say so once per kind of failure.
                    retryAt[server] = MonotonicClock.nanoseconds() + 2_000_000_000
                    let message = "\(error)"
                    if lastLogged[server] != message, MonotonicClock.nanoseconds() > quietUntil { log("refilling the datafile pool from server \(server): \(message)") }
                    if MonotonicClock.nanoseconds() > quietUntil { lastLogged[server] = message }
                }
            }
            sleepUntilWokenOrTimeout()
        }
    }

    private func refill(server: Int, count: Int) throws {
        let handles = try peers.call(CreateDatafiles(count: UInt32(count)), to: server, deadline: .after(seconds: 10)).reply
        guard handles.allSatisfy({ $0.server == server }) else {
            throw FSError(.protocolViolation, "server \(server) answered createDatafiles with datafiles of other servers: \(handles)")
        }
        try store.addToPool(handles)
        counts.withLock { $0[server] += handles.count }
    }

    /// Until a take runs a share low, or 200 ms (to retry a peer that failed).
    private func sleepUntilWokenOrTimeout() {
        _ = wakeup.wait(timeout: .now() + .milliseconds(200))
        wakeupPending.withLock { $0 = false }
    }
}
