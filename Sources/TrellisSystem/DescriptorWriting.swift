import Glibc
import TrellisCore

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

/// A whole text file, or nil when it cannot be read.
public func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count >= 0 else { return nil }
        if count == 0 { return String(decoding: bytes, as: UTF8.self) }
        bytes += chunk[..<count]
    }
}
