import Glibc
import TrellisCore
import TrellisSystem

/// Carries one rank's stdout or stderr from its pipe to `deliver`, whole
/// lines at a time, so lines of different ranks never mix wherever they
/// end up. A last line without its newline is held until the newline
/// comes, 64 KiB pile up, the stream ends, or it has waited
/// `partialLineDelay` seconds (a prompt waiting for input).
final class OutputRelay {
    let fd: Int32
    let rank: Int
    /// 1 for stdout, 2 for stderr.
    let stream: Int
    private let deliver: (Int, Int, [UInt8]) -> Void
    private let partialLineDelay: Double
    private var pending: [UInt8] = []
    private var pendingSince: Deadline?
    private(set) var isOpen = true

    init(fd: Int32, rank: Int, stream: Int, partialLineDelay: Double, deliver: @escaping (Int, Int, [UInt8]) -> Void) {
        self.fd = fd
        self.rank = rank
        self.stream = stream
        self.partialLineDelay = partialLineDelay
        self.deliver = deliver
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
        pending += chunk[..<count]
        if let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) {
            deliver(rank, stream, Array(pending[...lastNewline]))
            pending.removeSubrange(...lastNewline)
        }
        if pending.isEmpty {
            pendingSince = nil
        } else if pending.count >= 65536 || partialLineDelay <= 0 {
            flushPartialLine()
        } else if pendingSince == nil {
            pendingSince = .now()
        }
    }

    /// Called now and then: lets a partial line go once it has waited long enough.
    func tick() {
        if let since = pendingSince, Double(MonotonicClock.nanoseconds() &- since.uptimeNanoseconds) / 1e9 >= partialLineDelay {
            flushPartialLine()
        }
    }

    private func flushPartialLine() {
        guard !pending.isEmpty else { return }
        deliver(rank, stream, pending)
        pending.removeAll()
        pendingSince = nil
    }

    func finish() {
        guard isOpen else { return }
        flushPartialLine()
        Glibc.close(fd)
        isOpen = false
    }
}

/// Writes ranks' output to this process's stdout and stderr, each line
/// prefixed with its rank's tag when tagging (`[rank] `, or `[host:rank] `
/// for a job over hosts). Relays hand over whole lines, except a line
/// that ends its stream, waited too long or grew too large: tagged, that
/// piece becomes a line of its own.
struct OutputWriter {
    let tags: [String]?

    func write(rank: Int, stream: Int, _ bytes: [UInt8]) {
        let destination: Int32 = stream == 2 ? 2 : 1
        guard let tags, tags.indices.contains(rank), !bytes.isEmpty else {
            writeAll(destination, bytes)
            return
        }
        let prefix = Array("[\(tags[rank])] ".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + prefix.count * 2)
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast(bytes.last == UInt8(ascii: "\n") ? 1 : 0) {
            out += prefix
            out += line
            out.append(UInt8(ascii: "\n"))
        }
        writeAll(destination, out)
    }
}
