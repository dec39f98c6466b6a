import Dispatch
import NIOCore
import Synchronization
import TrellisCore

/// Read-ahead for an open that goes around the kernel's page cache: once
/// reads run sequentially, the next `windowBytes` are fetched from the
/// servers in the background, a request's worth at a time, so the
/// program's next reads find their bytes here. BeeGFS's buffered mode and
/// GPFS's pagepool do the same in their own memory; this memory is reused,
/// where the page cache would take fresh pages for every read.
///
/// Fetched bytes serve reads for at most `lifetime` (the attribute timeout),
/// the staleness the kernel's page cache would allow, and a write or
/// truncate through this mount discards them at once.
final class ReadAhead: Sendable {
    typealias Fetcher = @Sendable (_ offset: UInt64, _ length: UInt64) throws -> [ByteBuffer]

    private let windowBytes: UInt64
    private let fetchBytes: UInt64
    private let lifetime: Duration
    private let budget: ReadAheadBudget
    private let fetcher: Fetcher

    private struct State {
        /// Where the last read ended: the next read there continues a sequence.
        var sequenceEnd: UInt64?
        /// Fetches in offset order, each starting where the one before ends.
        var fetches: [Fetch] = []
    }
    private let state = Mutex(State())

    init(windowBytes: UInt64, fetchBytes: UInt64, lifetime: Duration, budget: ReadAheadBudget, fetcher: @escaping Fetcher) {
        self.windowBytes = windowBytes
        self.fetchBytes = fetchBytes
        self.lifetime = lifetime
        self.budget = budget
        self.fetcher = fetcher
    }

    /// The bytes of `offset..<offset+length` when fetches ahead hold all of
    /// them (waiting for those still in flight); nil when any is missing,
    /// failed or too old, and then the caller reads from the servers.
    func take(at offset: UInt64, length: UInt64) -> [ByteBuffer]? {
        let end = offset + length
        let covering: [Fetch]? = state.withLock { state in
            state.fetches.removeAll { $0.end <= offset }
            guard let first = state.fetches.first, first.start <= offset else { return nil }
            var covering: [Fetch] = []
            for fetch in state.fetches where covering.last.map({ fetch.start == $0.end }) ?? true {
                covering.append(fetch)
                if fetch.end >= end { return covering }
            }
            return nil
        }
        guard let covering else { return nil }
        var pieces: [ByteBuffer] = []
        for fetch in covering {
            guard let data = fetch.waitForData() else {
                discard()
                return nil
            }
            let from = max(offset, fetch.start) - fetch.start
            let upTo = min(end, fetch.end) - fetch.start
            pieces += Self.slices(of: data, from: Int(from), count: Int(upTo - from))
        }
        return pieces
    }

    /// Notes a read of `offset..<offset+length`; when it continues the last
    /// one, fetching goes on to `windowBytes` past it, but not past
    /// `knownSize` (a read beyond that asks the servers for the size).
    func noteRead(at offset: UInt64, length: UInt64, knownSize: UInt64) {
        let started: [Fetch] = state.withLock { state in
            let continues = state.sequenceEnd == offset
            state.sequenceEnd = offset + length
            guard continues else {
                state.fetches.removeAll()
                return []
            }
            let limit = min(offset + length + windowBytes, knownSize)
            var next = max(state.fetches.last?.end ?? 0, offset + length)
            var started: [Fetch] = []
            while next < limit, budget.reserve(min(fetchBytes, limit - next)) {
                let fetch = Fetch(start: next, length: min(fetchBytes, limit - next), budget: budget)
                started.append(fetch)
                state.fetches.append(fetch)
                next = fetch.end
            }
            return started
        }
        for fetch in started {
            let (fetcher, lifetime) = (self.fetcher, self.lifetime)
            DispatchQueue.global().async {
                fetch.complete(Result { try fetcher(fetch.start, fetch.length) }, usableFor: lifetime)
            }
        }
    }

    /// Forgets everything fetched: the file changed, or the open ends.
    func discard() {
        state.withLock { state in
            state.fetches.removeAll()
            state.sequenceEnd = nil
        }
    }

    /// `count` bytes from `from` of the buffers laid end to end.
    private static func slices(of buffers: [ByteBuffer], from: Int, count: Int) -> [ByteBuffer] {
        var skip = from
        var left = count
        var result: [ByteBuffer] = []
        for buffer in buffers where left > 0 {
            if skip >= buffer.readableBytes {
                skip -= buffer.readableBytes
                continue
            }
            let taken = min(buffer.readableBytes - skip, left)
            result.append(buffer.getSlice(at: buffer.readerIndex + skip, length: taken)!)
            left -= taken
            skip = 0
        }
        return result
    }
}

/// One background read of `start..<end`: its bytes once they arrive.
private final class Fetch: @unchecked Sendable {
    let start: UInt64
    let length: UInt64
    var end: UInt64 { start + length }
    private let budget: ReadAheadBudget
    private let arrived = DispatchSemaphore(value: 0)
    // Written once, before `arrived` is signalled; read only after waiting on it.
    private var data: [ByteBuffer]?
    private var usableUntil = Deadline.now()

    init(start: UInt64, length: UInt64, budget: ReadAheadBudget) {
        self.start = start
        self.length = length
        self.budget = budget
    }

    func complete(_ result: Result<[ByteBuffer], Error>, usableFor lifetime: Duration) {
        data = try? result.get()
        usableUntil = .after(lifetime)
        arrived.signal()
    }

    /// The bytes, once arrived; nil when the read failed or they are too old.
    func waitForData() -> [ByteBuffer]? {
        arrived.wait()
        arrived.signal()
        return usableUntil.hasPassed ? nil : data
    }

    deinit { budget.release(length) }
}

/// Bytes that all of a mount's read-ahead may hold at once, so that many
/// files read at the same time cannot take all memory.
final class ReadAheadBudget: Sendable {
    private let left: Mutex<UInt64>

    init(bytes: UInt64) {
        left = Mutex(bytes)
    }

    func reserve(_ bytes: UInt64) -> Bool {
        left.withLock { left in
            guard left >= bytes else { return false }
            left -= bytes
            return true
        }
    }

    func release(_ bytes: UInt64) {
        left.withLock { $0 += bytes }
    }
}
