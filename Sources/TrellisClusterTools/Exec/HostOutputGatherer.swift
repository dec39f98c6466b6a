import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// Takes the job's output for `trellis exec`: kept per host for the folded
/// report, or (live) printed at once, each line behind its host's name as
/// pdsh prints it. The launcher's own notices are kept for the end.
final class HostOutputGatherer: JobWatcher, @unchecked Sendable {
    private let hostOfRank: [String]
    private let live: Bool
    private(set) var outputs: [[UInt8]]
    private(set) var notices: [String] = []
    /// Hosts done, on a terminal (not with --live, whose lines would break it).
    private let progress: ProgressDisplay
    private var done = 0

    init(hostOfRank: [String], live: Bool, showProgress: Bool = false) {
        self.hostOfRank = hostOfRank
        self.live = live
        outputs = Array(repeating: [], count: hostOfRank.count)
        progress = ProgressDisplay(label: "trellis exec", enabled: showProgress && !live && isatty(2) != 0)
    }

    func rankEnded(rank: Int, status: Int32) {
        done += 1
        progress.update(hostsDone: done, of: hostOfRank.count, force: done == hostOfRank.count)
    }

    func finish() {
        progress.finish()
    }

    func output(rank: Int, stream: Int, bytes: [UInt8]) {
        guard outputs.indices.contains(rank) else { return }
        guard live else {
            outputs[rank] += bytes
            return
        }
        let prefix = Array("\(hostOfRank[rank]): ".utf8)
        var out: [UInt8] = []
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast(bytes.last == UInt8(ascii: "\n") ? 1 : 0) {
            out += prefix + line + [UInt8(ascii: "\n")]
        }
        _ = writeAll(stream == 2 ? 2 : 1, out)
    }

    func notice(_ text: String) {
        notices.append(text)
    }
}
