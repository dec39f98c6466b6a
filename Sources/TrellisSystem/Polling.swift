import Glibc
import TrellisCore

/// Checks `condition` every `intervalMicroseconds` until it holds (true) or
/// the deadline passes (false). For waiting on another process — a file it
/// writes, a port it opens, a log line — where nothing cheaper can be waited on.
public func poll(until deadline: Deadline, intervalMicroseconds: UInt32 = 20_000, _ condition: () throws -> Bool) rethrows -> Bool {
    while true {
        if try condition() { return true }
        if deadline.hasPassed { return false }
        usleep(intervalMicroseconds)
    }
}
