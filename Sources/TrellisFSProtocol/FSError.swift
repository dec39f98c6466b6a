#if canImport(Glibc)
import Glibc
#endif

/// The file system's one error type: a code that maps to a POSIX errno (for
/// the CLI, the FUSE mount and the wire), and a message that names the
/// path, handle or server involved.
public struct FSError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public let errno: Int32
        public init(_ name: String, errno: Int32) {
            self.name = name
            self.errno = errno
        }
        public var description: String { name }

        public static let notFound = Code("not-found", errno: ENOENT)
        public static let exists = Code("exists", errno: EEXIST)
        public static let notDirectory = Code("not-a-directory", errno: ENOTDIR)
        public static let isDirectory = Code("is-a-directory", errno: EISDIR)
        public static let notEmpty = Code("not-empty", errno: ENOTEMPTY)
        public static let permissionDenied = Code("permission-denied", errno: EACCES)
        public static let notPermitted = Code("not-permitted", errno: EPERM)
        public static let nameTooLong = Code("name-too-long", errno: ENAMETOOLONG)
        public static let invalidArgument = Code("invalid-argument", errno: EINVAL)
        public static let noSpace = Code("no-space", errno: ENOSPC)
        public static let ioError = Code("io-error", errno: EIO)
        public static let staleHandle = Code("stale-handle", errno: ESTALE)
        public static let crossDevice = Code("cross-device", errno: EXDEV)
        public static let notSymlink = Code("not-a-symlink", errno: EINVAL)
        public static let tooManyLinks = Code("too-many-links", errno: ELOOP)
        public static let serverUnavailable = Code("server-unavailable", errno: EHOSTUNREACH)
        public static let timedOut = Code("timed-out", errno: ETIMEDOUT)
        public static let protocolViolation = Code("protocol-violation", errno: EPROTO)
        public static let notSupported = Code("not-supported", errno: ENOTSUP)
        /// No extended attribute of that name (ENODATA, which Linux calls ENOATTR).
        public static let noAttribute = Code("no-attribute", errno: ENODATA)
        public static let tooBig = Code("too-big", errno: E2BIG)
        /// An object at its hard-link limit.
        public static let linkLimit = Code("link-limit", errno: EMLINK)
        /// An open file used as it was not opened for, or after its close.
        public static let badDescriptor = Code("bad-descriptor", errno: EBADF)

        static let all: [Code] = [
            notFound, exists, notDirectory, isDirectory, notEmpty, permissionDenied, notPermitted, nameTooLong,
            invalidArgument, noSpace, ioError, staleHandle, crossDevice, notSymlink, tooManyLinks, serverUnavailable,
            timedOut, protocolViolation, notSupported, noAttribute, tooBig, linkLimit, badDescriptor,
        ]

        /// The code a name on the wire stands for; unknown names keep their errno.
        public static func named(_ name: String, errno: Int32) -> Code {
            all.first { $0.name == name } ?? Code(name, errno: errno)
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
