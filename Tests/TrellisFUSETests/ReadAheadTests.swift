import Glibc
import NIOCore
import Synchronization
import Testing
@testable import TrellisFUSE

/// The mount's read-ahead, against a fetcher that serves a known pattern
/// (byte i of the file is i % 251) and counts what it was asked.
struct ReadAheadTests {
    final class PatternFile: Sendable {
        let asked = Mutex<[(offset: UInt64, length: UInt64)]>([])
        let failing = Atomic<Bool>(false)

        func fetch(_ offset: UInt64, _ length: UInt64) throws -> [ByteBuffer] {
            asked.withLock { $0.append((offset, length)) }
            if failing.load(ordering: .relaxed) { throw CancellationError() }
            // Two pieces, as a striped read's replies come.
            let half = length / 2
            return [Self.bytes(offset, half), Self.bytes(offset + half, length - half)]
        }

        static func bytes(_ offset: UInt64, _ length: UInt64) -> ByteBuffer {
            ByteBuffer(bytes: (offset..<offset + length).map { UInt8($0 % 251) })
        }
    }

    private func readAhead(_ file: PatternFile, window: UInt64 = 4096, budget: UInt64 = 1 << 20, lifetime: Duration = .seconds(60)) -> ReadAhead {
        ReadAhead(windowBytes: window, fetchBytes: 1024, lifetime: lifetime, budget: ReadAheadBudget(bytes: budget)) { try file.fetch($0, $1) }
    }

    private func joined(_ pieces: [ByteBuffer]) -> [UInt8] {
        pieces.flatMap { $0.readableBytesView }
    }

    @Test func sequentialReadsAreServedFromFetchesAcrossTheirBoundaries() throws {
        let file = PatternFile()
        let ahead = readAhead(file)
        #expect(ahead.take(at: 0, length: 700) == nil, "nothing is fetched before a sequence")
        ahead.noteRead(at: 0, length: 700, knownSize: 100_000)
        #expect(file.asked.withLock { $0.isEmpty }, "one read is not yet a sequence")
        #expect(ahead.take(at: 700, length: 700) == nil)
        ahead.noteRead(at: 700, length: 700, knownSize: 100_000)
        // The next 4096 bytes after 1400, in fetches of 1024.
        let held = try #require(ahead.take(at: 1400, length: 1500))
        #expect(joined(held) == Array(PatternFile.bytes(1400, 1500).readableBytesView))
        // Fetches run on other threads: taking the rest of the window waits for the last of them.
        let rest = try #require(ahead.take(at: 2900, length: 5496 - 2900))
        #expect(joined(rest) == Array(PatternFile.bytes(2900, 5496 - 2900).readableBytesView))
        #expect(file.asked.withLock { $0.map(\.offset).sorted() } == [1400, 2424, 3448, 4472])
    }

    @Test func fetchingStopsAtTheKnownSize() {
        let file = PatternFile()
        let ahead = readAhead(file)
        ahead.noteRead(at: 0, length: 1000, knownSize: 2500)
        ahead.noteRead(at: 1000, length: 1000, knownSize: 2500)
        #expect(ahead.take(at: 2000, length: 500).map(joined) == Array(PatternFile.bytes(2000, 500).readableBytesView))
        #expect(ahead.take(at: 2000, length: 1000) == nil, "a read past the known size goes to the servers")
        #expect(file.asked.withLock { $0.map(\.length) } == [500])
    }

    @Test func aJumpADiscardOrAFailureServesNothing() {
        let file = PatternFile()
        let ahead = readAhead(file)
        ahead.noteRead(at: 0, length: 100, knownSize: 100_000)
        ahead.noteRead(at: 100, length: 100, knownSize: 100_000)
        ahead.noteRead(at: 50_000, length: 100, knownSize: 100_000)
        #expect(ahead.take(at: 200, length: 100) == nil, "a read elsewhere drops what was fetched")

        ahead.noteRead(at: 50_100, length: 100, knownSize: 100_000)
        ahead.discard()
        #expect(ahead.take(at: 50_200, length: 100) == nil, "a write through the mount discards")

        file.failing.store(true, ordering: .relaxed)
        ahead.noteRead(at: 0, length: 100, knownSize: 100_000)
        ahead.noteRead(at: 100, length: 100, knownSize: 100_000)
        #expect(ahead.take(at: 200, length: 100) == nil, "a failed fetch leaves the read to the servers")
    }

    @Test func oldBytesAreNotServed() {
        let file = PatternFile()
        let ahead = readAhead(file, lifetime: .zero)
        ahead.noteRead(at: 0, length: 100, knownSize: 100_000)
        ahead.noteRead(at: 100, length: 100, knownSize: 100_000)
        #expect(ahead.take(at: 200, length: 100) == nil)
    }

    @Test func theBudgetBoundsWhatIsFetchedAndComesBack() {
        let file = PatternFile()
        let budget = ReadAheadBudget(bytes: 2048)
        let ahead = ReadAhead(windowBytes: 1 << 20, fetchBytes: 1024, lifetime: .seconds(60), budget: budget) { try file.fetch($0, $1) }
        ahead.noteRead(at: 0, length: 100, knownSize: 1 << 30)
        ahead.noteRead(at: 100, length: 100, knownSize: 1 << 30)
        #expect(ahead.take(at: 200, length: 2048) != nil)
        #expect(ahead.take(at: 200, length: 2049) == nil)
        #expect(file.asked.withLock { $0.count } == 2, "two fetches of 1024 fill a budget of 2048")
        ahead.discard()
        // Fetches in flight hold their bytes until they finish.
        var returned = budget.reserve(2048)
        for _ in 0..<500 where !returned {
            usleep(10_000)
            returned = budget.reserve(2048)
        }
        #expect(returned, "the whole budget came back once the fetches were dropped")
    }
}
