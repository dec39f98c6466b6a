#if canImport(Glibc)
import Glibc
#endif

/// Writes every byte to a descriptor, retrying short writes and EINTR (and
/// EAGAIN, for descriptors another process made nonblocking). Returns false
/// on any other error.
@discardableResult
public func writeAll(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Bool {
    var array = Array(bytes)
    var offset = 0
    while offset < array.count {
        let written = array.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            return false
        }
        offset += written
    }
    array.removeAll()
    return true
}

/// Writes a line of text to stderr, unbuffered: for launchers and ranks
/// that report while other processes share the terminal.
public func writeToStandardError(_ text: String) {
    writeAll(2, Array(text.utf8))
}
