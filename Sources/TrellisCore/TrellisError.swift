/// The one error type of Trellis: an extensible code, a message for people,
/// and the cause underneath when there is one.
///
/// ```swift
/// do { try world.send(buffer, to: 9) }
/// catch let error as TrellisError where error.code == .invalidRank { print(error) }
/// ```
public struct TrellisError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure an error is, for code that reacts to it: compare it
    /// with the static codes below, or make a code of your own with `init(_:)`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's short, hyphenated name, as printed in messages (`"invalid-rank"`).
        public let name: String
        /// Makes a code with the given name; codes with equal names are equal.
        public init(_ name: String) { self.name = name }
        /// The code's name.
        public var description: String { name }

        /// An argument, option, environment variable or configuration value is not
        /// acceptable.
        public static let invalidArgument = Code("invalid-argument")
        /// A rank is outside its communicator or group, or a group lists one twice.
        public static let invalidRank = Code("invalid-rank")
        /// A message tag is negative or above the largest tag the runtime allows.
        public static let invalidTag = Code("invalid-tag")
        /// An operation did not finish before its deadline.
        public static let timedOut = Code("timed-out")
        /// A pending operation was cancelled before it completed.
        public static let cancelled = Code("cancelled")
        /// A peer process failed or its connection broke, so the operation cannot
        /// complete; on a communicator, shrink it to go on.
        public static let peerFailed = Code("peer-failed")
        /// A connection to another process or service could not be made or was
        /// closed before the exchange finished.
        public static let connectionFailed = Code("connection-failed")
        /// A peer did not prove it holds the cluster key, or this process
        /// holds one and the peer asks for none.
        public static let authenticationFailed = Code("authentication-failed")
        /// The other side sent data that does not follow the protocol: a malformed
        /// frame, PMI line or reply.
        public static let protocolViolation = Code("protocol-violation")
        /// A message is larger than `RuntimeLimits.maximumMessageBytes`.
        public static let messageTooLarge = Code("message-too-large")
        /// An arriving message was discarded because the queue of messages no receive
        /// was posted for was full (`RuntimeLimits.unexpectedQueueLimitBytes`); the
        /// matching receive fails with this code.
        public static let unexpectedQueueFull = Code("unexpected-queue-full")
        /// The communicator or window was freed before or during the operation.
        public static let communicatorFreed = Code("communicator-freed")
        /// The members of a collective disagree about it, such as a different
        /// message size or a second root.
        public static let collectiveMismatch = Code("collective-mismatch")
        /// The process could not join its job at startup: the launcher (PMI) or its
        /// parent job could not be reached, or published wrong data.
        public static let bootstrapFailed = Code("bootstrap-failed")
        /// A system call or system resource failed; the cause is usually a
        /// `SystemCallError`.
        public static let systemCall = Code("system-call")
        /// The operation is not available here, such as an intercommunicator call on
        /// an intracommunicator.
        public static let notSupported = Code("not-supported")
        /// The runtime has been finalized, so it cannot send any more.
        public static let finalized = Code("finalized")
        /// Starting processes failed: a job, a spawned job or an agent did not start,
        /// or the launcher could not set up its sockets.
        public static let launchFailed = Code("launch-failed")
        /// No name service answered at the configured address, or it closed the
        /// connection.
        public static let nameServiceUnavailable = Code("name-service-unavailable")
        /// The name service has no entry for a looked-up name, or this process never
        /// published the name it tries to unpublish.
        public static let nameNotFound = Code("name-not-found")
        /// The name service refused a request other than a lookup, such as
        /// publishing a name that is already taken.
        public static let nameRefused = Code("name-refused")
        /// A port was closed, is not open, or its process refused the connection.
        public static let portClosed = Code("port-closed")
        /// The communicator was revoked by one of its members, so every pending and
        /// later operation on it fails; shrink it to go on.
        public static let revoked = Code("revoked")
        /// A window's target refused a one-sided access (detached or unknown
        /// memory, out of bounds, freed window).
        public static let accessRefused = Code("access-refused")
        /// The peer finalized (or disconnected) in good order; not a failure.
        public static let peerFinalized = Code("peer-finalized")
    }

    /// What kind of failure this is; match on it rather than on `message`.
    public let code: Code
    /// A sentence for people saying what went wrong, often with the values involved.
    public let message: String
    /// The error underneath, such as a `SystemCallError`, when there is one.
    public let underlying: (any Error & Sendable)?

    /// Makes an error with its code, message and, optionally, the error that
    /// caused it.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// `"code: message"`, followed by the underlying error in parentheses when
    /// there is one.
    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }
}

/// A failed system call with its errno, kept as the cause of a `TrellisError`.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    /// The name of the call that failed, such as `"connect"`.
    public let call: String
    /// The `errno` value the call left.
    public let errno: Int32

    /// Records a failed call with its `errno`.
    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// `"call: "` followed by the system's text for `errno` (`strerror`).
    public var description: String { "\(call): \(String(cString: strerror(errno)))" }

    /// Whether `code` tells of a network that may come back (a cut link, no
    /// route for now, a peer that stopped answering) rather than of a peer
    /// that reset, refused or closed the connection.
    public static func isNetworkLoss(_ code: Int32) -> Bool { [ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN].contains(code) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
