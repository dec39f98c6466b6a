import Glibc
import CTrellisSystem
import TrellisCore
import TrellisSystem

/// Two byte rings in memory shared with one peer process on the same host,
/// one per direction, that carry a connection's frames in place of its
/// socket once both sides have mapped them (the socket stays open: the
/// peer's death closes it, and it carries the one-byte wake-ups of a side
/// that sleeps in the kernel). The opener of the connection creates the
/// mapping as an anonymous memory file (`memfd_create`) and offers its
/// descriptor; the acceptor opens it through `/proc/PID/fd/N`, which the
/// kernel allows only to a process that may trace the opener (same user,
/// or root), and checks a random cookie, so that a pid that means another
/// process (another pid namespace) is never taken for the peer. Nothing is
/// named in the file system, so a killed process leaves nothing behind.
final class SharedMemoryLane {
    /// The cookie, ring size and version at the start of the mapping.
    private static let headerBytes = 64
    private static let controlBytes = MemoryLayout<trellis_ring_control>.stride
    private static let magic: UInt64 = 0x5452_4c53_484d_0001  // "TRLSHM", version 1

    let ringBytes: Int
    let cookie: [UInt8]
    private let base: UnsafeMutableRawPointer
    private let mappedBytes: Int
    private let outbound: UnsafeMutablePointer<trellis_ring_control>
    private let outboundData: UnsafeMutablePointer<UInt8>
    private let inbound: UnsafeMutablePointer<trellis_ring_control>
    private let inboundData: UnsafeMutablePointer<UInt8>
    /// The opener's memory file, kept open until the acceptor has opened it too.
    private(set) var descriptor: Int32?
    private var isMapped = true

    /// The default size of each direction's ring: `TRELLIS_SHM_RING_BYTES`, else 1 MiB (measured in docs/decisions/0014).
    static var defaultRingBytes: Int {
        let configured = ProcessEnvironment.value("TRELLIS_SHM_RING_BYTES").flatMap(Int.init) ?? 1 << 20
        // Whole cache lines, so that the second ring's counters stay aligned.
        return (min(max(4096, configured), 1 << 30) + 63) / 64 * 64
    }

    private static func totalBytes(ringBytes: Int) -> Int { headerBytes + 2 * (controlBytes + ringBytes) }

    private init(mapping base: UnsafeMutableRawPointer, bytes: Int, ringBytes: Int, cookie: [UInt8], descriptor: Int32?, opener: Bool) {
        self.ringBytes = ringBytes
        self.cookie = cookie
        self.base = base
        self.mappedBytes = bytes
        self.descriptor = descriptor
        (outbound, outboundData, inbound, inboundData) = Self.rings(base, ringBytes: ringBytes, opener: opener)
    }

    /// Creates the mapping on the opener's side.
    convenience init(creatingWithRingBytes ringBytes: Int) throws {
        let size = Self.totalBytes(ringBytes: ringBytes)
        let fd = trellis_memfd_create("trellis-lane")
        guard fd >= 0 else { throw TrellisError(.notSupported, "memfd_create failed", underlying: SystemCallError("memfd_create", errno: errno)) }
        guard ftruncate(fd, off_t(size)) == 0, let base = Self.map(fd, size) else {
            let code = errno
            close(fd)
            throw TrellisError(.notSupported, "cannot size or map a shared-memory lane of \(size) bytes", underlying: SystemCallError("mmap", errno: code))
        }
        var generator = SystemRandomNumberGenerator()
        let cookie = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        base.storeBytes(of: Self.magic, as: UInt64.self)
        base.storeBytes(of: UInt64(ringBytes), toByteOffset: 8, as: UInt64.self)
        cookie.withUnsafeBytes { (base + 16).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        self.init(mapping: base, bytes: size, ringBytes: ringBytes, cookie: cookie, descriptor: fd, opener: true)
    }

    /// Maps the opener's memory file on the acceptor's side; throws when it
    /// cannot be opened or is not the one offered.
    convenience init(openingFrom pid: Int32, descriptor: Int32, ringBytes: Int, cookie: [UInt8]) throws {
        guard ringBytes > 0, ringBytes % 64 == 0 else { throw TrellisError(.notSupported, "a shared-memory lane of \(ringBytes)-byte rings (not whole cache lines)") }
        let path = "/proc/\(pid)/fd/\(descriptor)"
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw TrellisError(.notSupported, "cannot open \(path)", underlying: SystemCallError("open", errno: errno)) }
        defer { close(fd) }
        let size = Self.totalBytes(ringBytes: ringBytes)
        var status = stat()
        guard fstat(fd, &status) == 0, Int(status.st_size) == size, let base = Self.map(fd, size) else {
            throw TrellisError(.notSupported, "\(path) is not a shared-memory lane of \(size) bytes")
        }
        let matches = base.load(as: UInt64.self) == Self.magic && base.load(fromByteOffset: 8, as: UInt64.self) == UInt64(ringBytes)
            && cookie.count == 16 && memcmp(base + 16, cookie, 16) == 0
        guard matches else {
            munmap(base, size)
            throw TrellisError(.notSupported, "\(path) is not the shared-memory lane offered (cookie differs)")
        }
        self.init(mapping: base, bytes: size, ringBytes: ringBytes, cookie: cookie, descriptor: nil, opener: false)
    }

    private static func map(_ fd: Int32, _ size: Int) -> UnsafeMutableRawPointer? {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        return address == MAP_FAILED ? nil : address
    }

    private static func rings(_ base: UnsafeMutableRawPointer, ringBytes: Int, opener: Bool) -> (
        UnsafeMutablePointer<trellis_ring_control>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<trellis_ring_control>, UnsafeMutablePointer<UInt8>
    ) {
        let first = base + headerBytes
        let second = first + controlBytes + ringBytes
        func ring(_ start: UnsafeMutableRawPointer) -> (UnsafeMutablePointer<trellis_ring_control>, UnsafeMutablePointer<UInt8>) {
            (start.assumingMemoryBound(to: trellis_ring_control.self), (start + controlBytes).assumingMemoryBound(to: UInt8.self))
        }
        // The first ring carries the opener's frames.
        let (a, aData) = ring(first)
        let (b, bData) = ring(second)
        return opener ? (a, aData, b, bData) : (b, bData, a, aData)
    }

    /// Closes the opener's memory file once the acceptor has it mapped (or refused it).
    func closeDescriptor() {
        if let descriptor { close(descriptor) }
        descriptor = nil
    }

    /// Copies what fits of `vectors` into the outbound ring; `wakePeer` is
    /// set when the peer sleeps and must be woken through the socket.
    func write(_ vectors: UnsafeBufferPointer<iovec>, wakePeer: inout Bool) -> Int {
        var wake: Int32 = 0
        let written = trellis_ring_write(outbound, outboundData, ringBytes, vectors.baseAddress, Int32(vectors.count), &wake)
        wakePeer = wake != 0
        return written
    }

    /// Copies at most `maximum` bytes out of the inbound ring.
    func read(into target: UnsafeMutableRawPointer, maximum: Int, wakePeer: inout Bool) -> Int {
        var wake: Int32 = 0
        let read = trellis_ring_read(inbound, inboundData, ringBytes, target.assumingMemoryBound(to: UInt8.self), maximum, &wake)
        wakePeer = wake != 0
        return read
    }

    var hasInput: Bool { trellis_ring_readable(inbound) > 0 }
    var hasRoom: Bool { trellis_ring_writable(outbound, ringBytes) > 0 }

    /// Marks this side asleep on the inbound ring; false when input is already there.
    func consumerWillSleep() -> Bool { trellis_ring_consumer_will_sleep(inbound) != 0 }
    func consumerAwake() { trellis_ring_consumer_awake(inbound) }
    /// Marks this side waiting for room in the outbound ring; false when room is already there.
    func producerWillSleep() -> Bool { trellis_ring_producer_will_sleep(outbound, ringBytes) != 0 }
    func producerAwake() { trellis_ring_producer_awake(outbound) }

    func unmap() {
        closeDescriptor()
        guard isMapped else { return }
        isMapped = false
        munmap(base, mappedBytes)
    }

    deinit { unmap() }
}
