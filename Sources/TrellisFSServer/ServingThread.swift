import Logging
import TrellisRuntime

/// The serving loops of one server (its own objects', and each copy's it
/// keeps) served by one thread, which waits on all their requests at once.
///
/// With a thread per loop, only one of them could poll the runtime at a
/// time (the one that had waited longest, most often the idle watch), and
/// it handed nearly every message to the thread it was for: a wake-up and
/// two context switches per message, which a replicated change pays on its
/// primary and on its copy. One thread that waits on every loop reads each
/// message itself and serves it where it lands.
///
/// Nothing a loop does on this thread may wait for another loop of the same
/// server: requests that may wait on other servers run on threads of their
/// own (`RequestHandler.mayWaitOnPeers`), and a server never keeps a copy of
/// its own group. The replica-group watch, which answers probes and votes,
/// keeps a thread of its own, so that a long turn here (a full resync) is
/// not taken for a dead server; it leaves polling to this thread
/// (`WaitProgress.leavesPollingToOthers`), or it would be the one that
/// reads, and hands over, every message.
enum ServingThread {
    /// Serves `copies` at once, and `main` too once `gate` is done (after
    /// `opening` runs; at once without a gate), until `main` stops. A copy
    /// that fails stops alone; `main` failing to open or serve ends the
    /// whole and throws. Each loop still serving is closed on the way out,
    /// `main` first.
    static func serve(
        copies: [ServingLoop] = [], main: ServingLoop, after gate: (any Waitable)? = nil, opening: () -> Void = {},
        ready: (String) -> Void = { _ in }, progress: WaitProgress = .polls, logger: Logger
    ) throws {
        var serving: [ServingLoop] = []
        defer { for loop in serving { loop.close() } }
        for copy in copies {
            do {
                _ = try copy.open()
                serving.append(copy)
            } catch {
                logger.error("\(copy.serviceName) stopped: \(error)")
            }
        }
        var mainServes = false
        if gate == nil {
            opening()
            let portName = try main.open()
            serving.insert(main, at: 0)
            mainServes = true
            ready(portName)
        }
        while true {
            // Before `main` serves, its stop and the gate come first.
            var requests: [any Waitable] = mainServes ? [] : [main.stopped, gate!]
            var firstOfLoop: [Int] = []
            for loop in serving {
                firstOfLoop.append(requests.count)
                requests += loop.requestsToWaitOn()
            }
            let done = try waitAny(requests, progress: progress)
            if !mainServes && done < 2 {
                if done == 0 { return }
                opening()
                let portName = try main.open()
                serving.insert(main, at: 0)
                mainServes = true
                ready(portName)
                continue
            }
            let position = firstOfLoop.lastIndex { $0 <= done }!
            let loop = serving[position]
            let goesOn: Bool
            do {
                goesOn = try loop.serve(ready: done - firstOfLoop[position])
            } catch {
                if loop === main { throw error }
                logger.error("\(loop.serviceName) stopped: \(error)")
                goesOn = false
            }
            guard !goesOn else { continue }
            loop.close()
            serving.remove(at: position)
            if loop === main { return }
        }
    }
}
