import Glibc
import TrellisCore

/// A node's view of one child proxy: the process that bootstraps it (the
/// proxy itself, or the ssh that runs it), what that process says on
/// stderr, and the link once the proxy has connected back.
final class ChildProxy {
    let position: Int
    let host: Int
    /// Every host of its subtree, lost together if it is.
    let hostsBelow: [Int]
    let startDeadline: Deadline
    var pid: pid_t = 0
    /// Started by the host's agent: no local bootstrap process; the agent's
    /// connection (its `errorsFD`) closes when the proxy ends.
    var viaAgent = false
    var bootstrapStatus: Int32?
    /// The read end of the bootstrap's stderr, while open.
    var errorsFD: Int32 = -1
    private var errorLine: [UInt8] = []
    /// The last lines it wrote, to explain a failure.
    private(set) var complaints: [String] = []
    private(set) var link: Link?
    /// What was sent before the proxy connected, delivered when it does.
    private var queued: [LinkMessage] = []
    var done = false
    var lost = false

    init(position: Int, host: Int, hostsBelow: [Int], startSeconds: Double) {
        self.position = position
        self.host = host
        self.hostsBelow = hostsBelow
        startDeadline = .after(seconds: startSeconds)
    }

    var finished: Bool { done || lost }

    func send(_ message: LinkMessage) {
        if let link { link.send(message) } else if !lost { queued.append(message) }
    }

    func attach(_ link: Link) {
        self.link = link
        queued.forEach(link.send)
        queued.removeAll()
    }

    /// Reads the bootstrap's stderr; returns the whole lines it wrote.
    func readErrors() -> [String] {
        guard errorsFD >= 0 else { return [] }
        var chunk = [UInt8](repeating: 0, count: 4096)
        var lines: [String] = []
        while true {
            let count = chunk.withUnsafeMutableBytes { read(errorsFD, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN { break }
            guard count > 0 else {
                close(errorsFD)
                errorsFD = -1
                if !errorLine.isEmpty { lines.append(String(decoding: errorLine, as: UTF8.self)) }
                errorLine.removeAll()
                break
            }
            errorLine += chunk[..<count]
            while let newline = errorLine.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: errorLine[..<newline], as: UTF8.self))
                errorLine.removeSubrange(...newline)
            }
        }
        // ssh ends its own complaints with CR LF.
        lines = lines.map { String($0.reversed().drop { $0 == "\r" || $0 == " " }.reversed()) }
        complaints = Array((complaints + lines).suffix(5))
        return lines
    }

    /// Ends the bootstrap process and its group, if still there.
    func killBootstrap() {
        guard pid > 0, bootstrapStatus == nil else { return }
        killpg(pid, SIGKILL)
        kill(pid, SIGKILL)
    }
}
