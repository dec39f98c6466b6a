import Glibc
import TrellisWire

/// The launcher's view of one rank.
final class RankProcess {
    let rank: Int
    let pid: pid_t
    /// The launcher's end of the rank's PMI connection (-1 until a rank
    /// started with `PMI_PORT` connects).
    var pmiFD: Int32
    var pmiOpen: Bool
    var pmiInput = PMIMessageFramer()
    /// The wire of the rank's last PMI message, which its replies use.
    var pmiWire = PMIWire.v1
    var sentInit = false
    var exitStatus: Int32?

    init(rank: Int, pid: pid_t, pmiFD: Int32) {
        self.rank = rank
        self.pid = pid
        self.pmiFD = pmiFD
        pmiOpen = pmiFD >= 0
    }

    var hasExited: Bool { exitStatus != nil }

    /// "exited with code 3" or "was killed by signal 9 (SIGKILL)".
    static func describe(status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with code \((status >> 8) & 0xff)" }
        return "was killed by signal \(signal) (\(signalName(signal)))"
    }

    /// The exit code a shell would report for this status.
    static func shellCode(status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
