import Glibc

/// The file system's one error type: a code that maps to a POSIX errno (for
/// the CLI, the FUSE mount and the wire), and a message that names the
/// path, handle or server involved.
public struct FSError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, as a name on the wire and the errno the mount returns.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The name on the wire and in `--json` output ("not-found").
        public let name: String
        /// The errno a POSIX caller gets.
        public let errno: Int32
        /// A code of this name; known names should use the constants below.
        public init(_ name: String, errno: Int32) {
            self.name = name
            self.errno = errno
        }
        /// The code's name.
        public var description: String { name }

        /// No object of that name or handle (ENOENT).
        public static let notFound = Code("not-found", errno: ENOENT)
        /// The name is taken (EEXIST).
        public static let exists = Code("exists", errno: EEXIST)
        /// A path step, or the target of a directory operation, is not a directory (ENOTDIR).
        public static let notDirectory = Code("not-a-directory", errno: ENOTDIR)
        /// A directory where a file was needed (EISDIR).
        public static let isDirectory = Code("is-a-directory", errno: EISDIR)
        /// A directory with entries cannot be removed or replaced (ENOTEMPTY).
        public static let notEmpty = Code("not-empty", errno: ENOTEMPTY)
        /// The mode bits do not allow the caller this access (EACCES).
        public static let permissionDenied = Code("permission-denied", errno: EACCES)
        /// Only the owner (or root) may do this (EPERM).
        public static let notPermitted = Code("not-permitted", errno: EPERM)
        /// A name over 255 bytes (ENAMETOOLONG).
        public static let nameTooLong = Code("name-too-long", errno: ENAMETOOLONG)
        /// A request that makes no sense: a bad size, offset, flag or name (EINVAL).
        public static let invalidArgument = Code("invalid-argument", errno: EINVAL)
        /// A server's storage is full (ENOSPC); nothing of the request was kept.
        public static let noSpace = Code("no-space", errno: ENOSPC)
        /// A server's disk failed the request (EIO).
        public static let ioError = Code("io-error", errno: EIO)
        /// A handle that names no object any more, or no server (ESTALE).
        public static let staleHandle = Code("stale-handle", errno: ESTALE)
        /// A move or link that would cross file systems (EXDEV).
        public static let crossDevice = Code("cross-device", errno: EXDEV)
        /// readlink of something that is not a symlink (EINVAL).
        public static let notSymlink = Code("not-a-symlink", errno: EINVAL)
        /// Too many symlinks on a path (ELOOP).
        public static let tooManyLinks = Code("too-many-links", errno: ELOOP)
        /// A server did not answer within the deadline, retries included (EHOSTUNREACH; EIO on the mount).
        public static let serverUnavailable = Code("server-unavailable", errno: EHOSTUNREACH)
        /// The deadline passed before the answer came (ETIMEDOUT; EIO on the mount).
        public static let timedOut = Code("timed-out", errno: ETIMEDOUT)
        /// A message that does not decode as what it claims to be (EPROTO).
        public static let protocolViolation = Code("protocol-violation", errno: EPROTO)
        /// An operation this server or object does not support (ENOTSUP).
        public static let notSupported = Code("not-supported", errno: ENOTSUP)
        /// No extended attribute of that name (ENODATA, which Linux calls ENOATTR).
        public static let noAttribute = Code("no-attribute", errno: ENODATA)
        /// A value or list larger than its limit (E2BIG).
        public static let tooBig = Code("too-big", errno: E2BIG)
        /// An object at its hard-link limit.
        public static let linkLimit = Code("link-limit", errno: EMLINK)
        /// An open file used as it was not opened for, or after its close.
        public static let badDescriptor = Code("bad-descriptor", errno: EBADF)
        /// Asked of a copy of a replica group that is not the group's primary (now).
        public static let notPrimary = Code("not-primary", errno: EAGAIN)
        /// A request on datafiles without a capability that allows it: none, a forged,
        /// altered or expired one, or one for other datafiles or rights (EACCES).
        public static let capabilityRefused = Code("capability-refused", errno: EACCES)

        /// A request that found, inside a commit shared with other requests,
        /// that it must wait on peer servers, which no thread holding a
        /// database may do: its server answers it again outside the commit
        /// (EAGAIN if it ever reaches a client).
        public static let needsPeers = Code("needs-peers", errno: EAGAIN)

        static let all: [Code] = [
            notFound, exists, notDirectory, isDirectory, notEmpty, permissionDenied, notPermitted, nameTooLong,
            invalidArgument, noSpace, ioError, staleHandle, crossDevice, notSymlink, tooManyLinks, serverUnavailable,
            timedOut, protocolViolation, notSupported, noAttribute, tooBig, linkLimit, badDescriptor, notPrimary,
            capabilityRefused, needsPeers,
        ]

        /// The code a name on the wire stands for; unknown names keep their errno.
        public static func named(_ name: String, errno: Int32) -> Code {
            all.first { $0.name == name } ?? Code(name, errno: errno)
        }
    }

    /// What kind of failure.
    public let code: Code
    /// What failed, naming the path, handle or server involved.
    public let message: String

    /// An error of `code` saying `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// "code: message", as the CLI prints it.
    public var description: String { "\(code): \(message)" }
}
