import Foundation
import Glibc

/// CPU time processes have used, user and system together, from
/// `/proc/PID/stat`: the cost of a phase in the servers themselves, which
/// on a shared machine varies far less than its rate does.
enum ProcessCPUTime {
    /// Seconds of CPU the processes `pids` have used so far; nil when one
    /// of them cannot be read (it ended, or `/proc` is not there).
    static func seconds(of pids: [pid_t]) -> Double? {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        var ticks: UInt64 = 0
        for pid in pids {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After the command's closing parenthesis: state is field 3, utime 14 and stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
            ticks += user + system
        }
        return ticksPerSecond > 0 ? Double(ticks) / ticksPerSecond : nil
    }
}
