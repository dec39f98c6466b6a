import Glibc
import Logging
import TrellisRuntime
import TrellisSystem

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
/// its own group. A few rare paths still wait here for this server's copies
/// on other servers (a resent request answered from its record after its
/// change failed to reach them, the one-by-one retry of a failed group
/// commit, fsck's removal of orphan bstreams); the copies kept here go
/// unserved meanwhile, so two servers on such a path at once each wait out
/// the other's line deadline. The replica-group watch, which answers probes and votes,
/// keeps a thread of its own, so that a long turn here (a full resync) is
/// not taken for a dead server; it leaves polling to this thread
/// (`WaitProgress.leavesPollingToOthers`), or it would be the one that
/// reads, and hands over, every message.
enum ServingThread {
    /// Serves `copies` at once, and `main` too once `gate` is done (after
    /// `opening` runs; at once without a gate), until `main` stops. A copy
    /// that fails stops alone; `main` failing to open or serve ends the
    /// whole and throws. The loops still serving are closed on the way out,
    /// all at once (`closeAll`).
    static func serve(
        copies: [ServingLoop] = [], main: ServingLoop, after gate: (any Waitable)? = nil, opening: () -> Void = {},
        ready: (String) -> Void = { _ in }, progress: WaitProgress = .polls, logger: Logger
    ) throws {
        var serving: [ServingLoop] = []
        defer { closeAll(serving) }
        for copy in copies {
            do {
                _ = try copy.open()
                serving.append(copy)
            } catch {
                logger.error("\(copy.serviceName) stopped: \(error)")
            }
        }
        var mainServes = false
        func openMain() throws {
            opening()
            let portName = try main.open()
            serving.insert(main, at: 0)
            mainServes = true
            ready(portName)
        }
        if gate == nil { try openMain() }
        var turn = 0
        while true {
            // Before `main` serves, its stop and the gate come first.
            var requests: [any Waitable] = mainServes ? [] : [main.stopped, gate!]
            // The loops in turn take the first place, where `waitAny` looks first: a loop
            // whose clients always have a request waiting must not starve the others.
            turn &+= 1
            let first = serving.isEmpty ? 0 : turn % serving.count
            let order = Array(serving[first...] + serving[..<first])
            var firstOfLoop: [Int] = []
            for loop in order {
                firstOfLoop.append(requests.count)
                requests += loop.requestsToWaitOn()
            }
            let done = try waitAny(requests, progress: progress)
            if !mainServes && done < 2 {
                if done == 0 { return }
                try openMain()
                continue
            }
            let position = firstOfLoop.lastIndex { $0 <= done }!
            let loop = order[position]
            let goesOn: Bool
            do {
                goesOn = try loop.serve(ready: done - firstOfLoop[position])
            } catch {
                if loop === main { throw error }
                logger.error("\(loop.serviceName) stopped: \(error)")
                goesOn = false
            }
            guard !goesOn else { continue }
            if loop === main { return }
            serving.removeAll { $0 === loop }
            loop.close()
        }
    }

    /// Closes `loops` each on a thread of its own, and returns once all are
    /// closed. A loop's close waits until its held replies' changes are on
    /// its copies, which live on other servers; when those stop too, their
    /// own closes wait on the copies kept here. One after another on one
    /// thread, the two servers would each wait for the other's timeout.
    private static func closeAll(_ loops: [ServingLoop]) {
        let threads = loops.compactMap { loop -> pthread_t? in
            guard let thread = startThread(named: "closing", { loop.close() }) else {
                loop.close()
                return nil
            }
            return thread
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}
