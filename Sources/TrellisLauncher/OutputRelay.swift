#if canImport(Glibc)
import Glibc
#endif
import TrellisCore

/// Copies one rank's stdout or stderr to the launcher's, optionally
/// prefixing each line with `[rank] ` so interleaved output stays readable.
final class OutputRelay {
    let fd: Int32
    let rank: Int
    let destination: Int32
    let tagged: Bool
    private var pending: [UInt8] = []
    private(set) var isOpen = true

    init(fd: Int32, rank: Int, destination: Int32, tagged: Bool) {
        self.fd = fd
        self.rank = rank
        self.destination = destination
        self.tagged = tagged
    }

    /// Reads what is available; at end of stream flushes and closes.
    func pump() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return }
        guard count > 0 else {
            finish()
            return
        }
        guard tagged else {
            writeAll(chunk[..<count])
            return
        }
        pending += chunk[..<count]
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            writeAll(Array("[\(rank)] ".utf8) + pending[...newline])
            pending.removeSubrange(...newline)
        }
    }

    func finish() {
        guard isOpen else { return }
        if !pending.isEmpty {
            writeAll(Array("[\(rank)] ".utf8) + pending + [UInt8(ascii: "\n")])
            pending.removeAll()
        }
        Glibc.close(fd)
        isOpen = false
    }

    private func writeAll(_ bytes: some Collection<UInt8>) {
        TrellisCore.writeAll(destination, bytes)
    }
}
