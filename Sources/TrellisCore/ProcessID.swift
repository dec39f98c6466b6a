import Glibc

/// The identity of one process of the runtime: unique across every process
/// that ever runs, so connections and context ids can be keyed by it.
public struct ProcessID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The identity as a 64-bit number, as it travels on the wire; never zero for
    /// a generated id.
    public let rawValue: UInt64

    /// Wraps a number received from elsewhere, such as a frame or a port name.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// A fresh identity: random bits mixed with the pid, never zero.
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> ProcessID {
        let random = UInt64.random(in: 1...UInt64.max, using: &generator)
        let pid = UInt64(UInt32(bitPattern: getpid()))
        let mixed = (random & 0xFFFF_FFFF_0000_0000) | ((random ^ pid) & 0x0000_0000_FFFF_FFFF)
        return ProcessID(rawValue: mixed == 0 ? 1 : mixed)
    }

    /// A fresh identity from the system's random number generator.
    public static func generate() -> ProcessID {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// Orders ids by their numbers, so that two processes agree on an order.
    public static func < (lhs: ProcessID, rhs: ProcessID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The id in hexadecimal.
    public var description: String { String(rawValue, radix: 16) }
}
