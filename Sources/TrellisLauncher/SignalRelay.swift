import Glibc
import CTrellisSystem
import TrellisCore

nonisolated(unsafe) private var relayWriteFD: Int32 = -1

/// Turns signals into bytes on a pipe (the self-pipe trick), so the
/// launcher's poll loop sees them like any other input.
final class SignalRelay {
    let readFD: Int32
    private let writeFD: Int32
    private let signals: [Int32]

    init(signals: [Int32]) throws {
        var fds: [Int32] = [0, 0]
        guard trellis_pipe_cloexec(&fds) == 0 else {
            throw TrellisError(.systemCall, "cannot create the signal pipe", underlying: SystemCallError("pipe", errno: errno))
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        readFD = fds[0]
        writeFD = fds[1]
        self.signals = signals
        relayWriteFD = writeFD
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = Glibc.write(relayWriteFD, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    /// Signals received since the last call, in order.
    func drain() -> [Int32] {
        var result: [Int32] = []
        var byte: UInt8 = 0
        while Glibc.read(readFD, &byte, 1) == 1 { result.append(Int32(byte)) }
        return result
    }

    deinit {
        for signal in signals { Glibc.signal(signal, SIG_DFL) }
        relayWriteFD = -1
        Glibc.close(readFD)
        Glibc.close(writeFD)
    }
}
