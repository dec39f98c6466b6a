import TrellisFSProtocol

/// The MPI-IO layer's own errors, as the file system's error codes (so a
/// caller handles them as it handles the storage's: EBADF, EINVAL, EIO).
enum IOError {
    static func closed(_ path: String) -> FSError { FSError(.badDescriptor, "\(path) is closed") }

    static func notAllowed(_ path: String, _ what: String) -> FSError { FSError(.badDescriptor, "\(path) was not opened for \(what)") }

    static func invalidHint(_ key: String, _ value: String, _ wanted: String) -> FSError {
        FSError(.invalidArgument, "hint \(key)=\(value): it takes \(wanted)")
    }

    static func partialEtype(_ bytes: Int, _ etype: Int, _ path: String) -> FSError {
        FSError(.invalidArgument, "\(bytes) bytes is not a whole number of the \(etype)-byte etype of \(path)'s view")
    }

    static let cutMessage = FSError(.protocolViolation, "a collective-buffering message between ranks was cut short")

    /// A collective call that failed on some rank fails on every rank, naming it.
    static func collective(_ what: String, _ path: String, rank: Int, _ cause: Error?) -> FSError {
        if let cause = cause as? FSError { return FSError(cause.code, "\(what) of \(path) failed on rank \(rank): \(cause.message)") }
        return FSError(.ioError, "\(what) of \(path) failed on rank \(rank)\(cause.map { ": \($0)" } ?? "")")
    }
}
