/// The one error type of Trellis: an extensible code, a message for people,
/// and the cause underneath when there is one.
///
/// ```swift
/// do { try world.send(buffer, to: 9) }
/// catch let error as TrellisError where error.code == .invalidRank { print(error) }
/// ```
public struct TrellisError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let invalidArgument = Code("invalid-argument")
        public static let invalidRank = Code("invalid-rank")
        public static let invalidTag = Code("invalid-tag")
        public static let timedOut = Code("timed-out")
        public static let cancelled = Code("cancelled")
        public static let peerFailed = Code("peer-failed")
        public static let connectionFailed = Code("connection-failed")
        public static let protocolViolation = Code("protocol-violation")
        public static let messageTooLarge = Code("message-too-large")
        public static let unexpectedQueueFull = Code("unexpected-queue-full")
        public static let communicatorFreed = Code("communicator-freed")
        public static let collectiveMismatch = Code("collective-mismatch")
        public static let bootstrapFailed = Code("bootstrap-failed")
        public static let systemCall = Code("system-call")
        public static let notSupported = Code("not-supported")
        public static let finalized = Code("finalized")
        public static let launchFailed = Code("launch-failed")
        public static let nameServiceUnavailable = Code("name-service-unavailable")
        public static let nameNotFound = Code("name-not-found")
        public static let nameRefused = Code("name-refused")
        public static let portClosed = Code("port-closed")
        public static let revoked = Code("revoked")
        /// A window's target refused a one-sided access (detached or unknown
        /// memory, out of bounds, freed window).
        public static let accessRefused = Code("access-refused")
        /// The peer finalized (or disconnected) in good order; not a failure.
        public static let peerFinalized = Code("peer-finalized")
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }
}

/// A failed system call with its errno, kept as the cause of a `TrellisError`.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
