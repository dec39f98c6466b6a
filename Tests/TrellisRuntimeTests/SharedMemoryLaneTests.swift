import Glibc
import Testing
import TrellisCore
@testable import TrellisRuntime

/// The shared-memory lane's rings, both ends mapped in this process the way
/// two processes map them (the acceptor through /proc/PID/fd/N).
@Suite struct SharedMemoryLaneTests {
    static func pair(ringBytes: Int) throws -> (opener: SharedMemoryLane, acceptor: SharedMemoryLane) {
        let opener = try SharedMemoryLane(creatingWithRingBytes: ringBytes)
        let acceptor = try SharedMemoryLane(openingFrom: getpid(), descriptor: opener.descriptor!, ringBytes: ringBytes, cookie: opener.cookie)
        opener.closeDescriptor()
        return (opener, acceptor)
    }

    /// Random writes (split over random vectors) and random reads, many
    /// times round a small ring in both directions: every byte comes out once, in order.
    @Test(arguments: [4096, 4096 + 64, 65536])
    func bytesComeOutInOrderAcrossWraps(ringBytes: Int) throws {
        var generator = SeededGenerator(seed: UInt64(ringBytes) &* 7919)
        let (opener, acceptor) = try Self.pair(ringBytes: ringBytes)
        for (writer, reader) in [(opener, acceptor), (acceptor, opener)] {
            let total = ringBytes * 23 + 17
            let source = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            var received: [UInt8] = []
            var sent = 0
            var target = [UInt8](repeating: 0, count: ringBytes * 2)
            var wake = false
            while received.count < total {
                if sent < total {
                    let length = min(Int.random(in: 1...ringBytes + 100, using: &generator), total - sent)
                    let cut = Int.random(in: 0...length, using: &generator)
                    let written = source.withUnsafeBytes { bytes in
                        let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress! + sent)
                        let vectors = [iovec(iov_base: base, iov_len: cut), iovec(iov_base: base + cut, iov_len: length - cut)]
                        return vectors.withUnsafeBufferPointer { writer.write($0, wakePeer: &wake) }
                    }
                    #expect(written <= length)
                    sent += written
                }
                let maximum = Int.random(in: 1...ringBytes * 2, using: &generator)
                let read = target.withUnsafeMutableBytes { reader.read(into: $0.baseAddress!, maximum: maximum, wakePeer: &wake) }
                received += target[0..<read]
            }
            #expect(received == source)
            #expect(!reader.hasInput)
        }
    }

    /// A side about to sleep is told whether it may (nothing to read, no
    /// room), and the other side learns it must ring once it writes or reads.
    @Test func sleepersAreWokenAndNeverMissAWrite() throws {
        let (opener, acceptor) = try Self.pair(ringBytes: 4096)
        var wake = false
        #expect(acceptor.consumerWillSleep(), "nothing to read: may sleep")
        let bytes = [UInt8](repeating: 1, count: 4096)
        let written = bytes.withUnsafeBytes { raw in
            [iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress!), iov_len: 4096)].withUnsafeBufferPointer { opener.write($0, wakePeer: &wake) }
        }
        #expect(written == 4096 && wake, "the writer is told to ring the sleeping reader")
        #expect(!acceptor.consumerWillSleep(), "bytes are there: no sleep")
        acceptor.consumerAwake()
        #expect(!opener.hasRoom)
        #expect(opener.producerWillSleep(), "no room: the writer may sleep")
        var target = [UInt8](repeating: 0, count: 100)
        let read = target.withUnsafeMutableBytes { acceptor.read(into: $0.baseAddress!, maximum: 100, wakePeer: &wake) }
        #expect(read == 100 && wake, "the reader is told to ring the waiting writer")
        #expect(!opener.producerWillSleep(), "room now: no sleep")
    }

    /// A lane whose cookie is not the one offered (another process's memory
    /// file behind the same pid and descriptor) is refused, as is a missing one.
    @Test func anotherLaneOrNoneIsRefused() throws {
        let lane = try SharedMemoryLane(creatingWithRingBytes: 4096)
        var wrongCookie = lane.cookie
        wrongCookie[0] ^= 0xff
        #expect(throws: TrellisError.self) {
            _ = try SharedMemoryLane(openingFrom: getpid(), descriptor: lane.descriptor!, ringBytes: 4096, cookie: wrongCookie)
        }
        #expect(throws: TrellisError.self) {
            _ = try SharedMemoryLane(openingFrom: getpid(), descriptor: lane.descriptor!, ringBytes: 8192, cookie: lane.cookie)
        }
        #expect(throws: TrellisError.self) {
            _ = try SharedMemoryLane(openingFrom: getpid(), descriptor: 9999, ringBytes: 4096, cookie: lane.cookie)
        }
    }
}
