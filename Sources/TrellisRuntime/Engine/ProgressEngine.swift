import Glibc
import Logging
import NIOCore
import TrellisCore
import TrellisWire
import TrellisSystem

/// The heart of the runtime: the matching queues, the rendezvous exchanges,
/// and the loop that moves bytes.
///
/// Progress is made by whichever thread waits: it takes the poller role,
/// polls the transport without blocking while there was recent activity
/// (spin), then sleeps in the kernel. A background thread takes the role when
/// no application thread waits, so nonblocking operations move on their own
/// and an idle process sleeps. One lock guards all state; requests complete
/// under it.
public final class ProgressEngine: @unchecked Sendable {
    let processID: ProcessID
    let limits: RuntimeLimits
    let logger: Logger
    let metrics = RuntimeMetrics()
    let lock = ConditionLock()
    /// The launcher's PMI service this process joined through, which starts
    /// spawned jobs on the job's hosts (nil for a singleton). Not under `lock`: it has its own.
    let launcher: PMIClient?
    private var backgroundCondition: ConditionLock.Condition!
    var transport: Transport

    // Matching and exchanges; guarded by `lock`.
    var matching = MatchingQueues<PendingReceive, ArrivedMessage>()
    var unexpectedBytes = 0
    var outboundExchanges: [UInt64: OutboundExchange] = [:]
    var inboundExchanges: [UInt64: InboundExchange] = [:]
    var nextExchange: UInt64 = 1
    var nextReceiveID: UInt64 = 1
    var nextContextSerial: UInt64 = 1
    var freedContexts = FreedContexts()
    var failedPeers: [ProcessID: TrellisError] = [:]
    /// Peers lost to the network and introduced again since: they count as
    /// failed only in the communicators they were in when lost (see
    /// `failure(of:in:)`).
    var reachedAgain = Set<ProcessID>()
    /// Live communicators by context, for failure handling and revocation.
    var communicators: [ContextID: CommunicatorRecord] = [:]
    /// Revoked and not yet freed: point-to-point messages for them are dropped.
    var revokedContexts = Set<ContextID>()
    var dynamic = DynamicProcessState()
    var agreements = AgreementTable()
    var oneSided = OneSidedState()
    /// Requests that complete when a condition holds (disconnect).
    var pendingConditions: [(() -> Bool, () -> Void, RequestCore)] = []

    // The poller role; guarded by `lock`.
    private var pollerBusy = false
    private var pollerInKernel = false
    private var applicationWaiters = 0
    /// Threads asleep in `wait` while another polls, oldest first.
    private var sleepers: [Sleeper] = []
    private var spareSleepers: [Sleeper] = []
    private var lastActivityNanoseconds: UInt64 = 0
    private var lastApplicationWaitEnd: UInt64 = 0
    private var shuttingDown = false
    /// The background thread naps long and must be told when the last application waiter leaves.
    private var backgroundNapsLong = false
    /// Polls that found nothing while spinning; one in `spinsPerYield` yields the processor.
    private var emptySpins = 0
    /// Empty polls between two yields: `fewestSpinsPerYield` while a yield
    /// lets another thread run (the cores are shared: a spinner must give
    /// them up often), doubled up to `mostSpinsPerYield` while yields come
    /// straight back (a core of its own: each yield would only add a system
    /// call and a pass through the scheduler to the message's wait, a third
    /// of an 8-byte ping-pong's time through a lane).
    private var spinsPerYield = ProgressEngine.fewestSpinsPerYield
    private static let fewestSpinsPerYield = 4
    private static let mostSpinsPerYield = 256
    /// A yield that returns sooner than this found no other thread to run.
    private static let idleYieldNanoseconds: UInt64 = 3_000
    private var backgroundThread: pthread_t?

    init(processID: ProcessID, limits: RuntimeLimits, transport: Transport, launcher: PMIClient? = nil, logger: Logger) {
        self.processID = processID
        self.launcher = launcher
        self.limits = limits
        self.transport = transport
        self.logger = logger
        backgroundCondition = ConditionLock.Condition(lock)
        self.transport.delegate = self
    }

    /// Starts the background progress thread when the limits ask for it.
    func start() {
        guard limits.asynchronousProgress else { return }
        backgroundThread = startThread(named: "progress") { [self] in backgroundLoop() }
    }

    // MARK: Waiting

    /// The longest a thread that waits while another polls sleeps before it
    /// looks again (it is woken sooner whenever a request completes).
    static let sleeperNapNanoseconds: UInt64 = 10_000_000

    /// Makes progress until `isDone` (evaluated with the lock held) or the
    /// deadline. Throws `timedOut` naming `label` when the deadline wins.
    /// A thread that does not `poll` only sleeps, and does not count as an
    /// application waiter: the background thread polls for it once no
    /// thread that polls has waited for a moment (`WaitProgress`).
    func wait(deadline: Deadline?, label: @autoclosure () -> String, polls: Bool = true, until isDone: @escaping () -> Bool) throws {
        let polls = polls || backgroundThread == nil
        lock.lock()
        defer { lock.unlock() }
        if polls { applicationWaiters += 1 }
        defer {
            if polls {
                applicationWaiters -= 1
                lastApplicationWaitEnd = MonotonicClock.nanoseconds()
                // The background thread takes over only where something waits on
                // progress: waking it after every wait cost a ping-pong half its speed.
                // Told only when napping long: waking it at the end of every wait
                // cost a ping-pong half its speed (the wake-up, then the lock).
                if applicationWaiters == 0 && backgroundNapsLong {
                    backgroundNapsLong = false
                    backgroundCondition.signal()
                }
            }
            // Whoever leaves may leave the poller role free: one sleeper takes it.
            if !pollerBusy { wakeOneSleeperToPoll() }
        }
        var wokePoller = false
        // When the last poll began: a spinning poll reads the clock anyway, and a second read per turn was a tenth of a spin.
        var polledAt: UInt64?
        while !isDone() {
            if let deadline, deadline.uptimeNanoseconds <= polledAt ?? MonotonicClock.nanoseconds() {
                throw TrellisError(.timedOut, "\(label()) did not finish before its deadline")
            }
            polledAt = nil
            if pollerBusy || !polls {
                // Another thread polls. Pulled out of the kernel once, so it looks at
                // what this thread started; not again at every look, or two waiting
                // threads wake each other for ever (a serving loop and a copy's loop did).
                if pollerInKernel, !wokePoller {
                    transport.wake()
                    wokePoller = true
                }
                sleep(until: isDone, polls: polls, nanoseconds: min(Self.sleeperNapNanoseconds, deadline?.remainingNanoseconds ?? .max))
                continue
            }
            polledAt = pollOnce(deadline: deadline, mayBlock: true)
        }
    }

    /// A thread asleep in `wait` while another polls. It is woken only when
    /// what it waits for is done, or to take the poller role over: waking
    /// every sleeper at every turn of the poller cost the file-system servers
    /// (a serving loop per replica group, a thread per line to a copy) most
    /// of their context switches.
    private final class Sleeper {
        let condition: ConditionLock.Condition
        /// What it waits for; evaluated with the lock held by whoever completes a request.
        var isDone: () -> Bool = { false }
        var woken = false
        /// Whether it takes the poller role when that is free (`WaitProgress`).
        var polls = true

        init(_ lock: ConditionLock) { condition = ConditionLock.Condition(lock) }
    }

    /// Sleeps (lock held) until `isDone` may hold, the poller role is free (for one that `polls`), or `nanoseconds` pass.
    private func sleep(until isDone: @escaping () -> Bool, polls: Bool, nanoseconds: UInt64) {
        let sleeper = spareSleepers.popLast() ?? Sleeper(lock)
        sleeper.isDone = isDone
        sleeper.woken = false
        sleeper.polls = polls
        sleepers.append(sleeper)
        sleeper.condition.wait(nanoseconds: nanoseconds)
        sleepers.removeAll { $0 === sleeper }
        sleeper.isDone = { false }
        spareSleepers.append(sleeper)
    }

    /// Wakes the longest asleep of the sleepers not yet woken, to poll. Lock held.
    private func wakeOneSleeperToPoll() {
        guard let next = sleepers.first(where: { !$0.woken && $0.polls }) else { return }
        next.woken = true
        next.condition.signal()
    }

    func wait(for core: RequestCore, deadline: Deadline?) throws {
        if core.isDone { return }
        try wait(deadline: deadline, label: core.label.description) { core.isDone }
    }

    /// One nonblocking turn of progress, unless another thread is already polling.
    func progressOnce() {
        lock.withLock {
            if !pollerBusy { pollOnce(deadline: nil, mayBlock: false) }
        }
    }

    /// The host the connection with `peer` goes to, as its socket says (nil: no connection now).
    func connectedHost(of peer: ProcessID) -> String? {
        lock.withLock { transport.connectedHost(of: peer) }
    }

    func outcome(of core: RequestCore) -> Result<RequestOutput, TrellisError> {
        lock.withLock { core.outcome! }
    }

    func cancel(_ core: RequestCore) -> Bool {
        lock.withLock {
            guard !core.isDone, let withdraw = core.cancelHandler, withdraw() else { return false }
            core.fail(TrellisError(.cancelled, "\(core.label) was cancelled"))
            return true
        }
    }

    /// Completes a request that no message drives (a generalized request),
    /// pulling the poller out of the kernel so its waiter sees it at once.
    func completeFromOutside(_ core: RequestCore) {
        lock.withLock {
            core.succeed()
            if pollerInKernel { transport.wake() }
        }
    }

    /// Called under the lock whenever a request completes: wakes the
    /// sleepers whose wait it ends.
    func requestCompleted() {
        for sleeper in sleepers where !sleeper.woken && sleeper.isDone() {
            sleeper.woken = true
            sleeper.condition.signal()
        }
    }

    func noteActivity() {
        lastActivityNanoseconds = MonotonicClock.nanoseconds()
    }

    /// Takes the poller role for one poll of the transport. Lock held on entry
    /// and exit; released while waiting in the kernel.
    /// One look at the transport, waiting in the kernel once the spin is
    /// over; returns the clock's reading as it began.
    @discardableResult
    private func pollOnce(deadline: Deadline?, mayBlock: Bool) -> UInt64 {
        pollerBusy = true
        var timeout: Int32 = 0
        let now = MonotonicClock.nanoseconds()
        let spinning = now &- lastActivityNanoseconds < UInt64(limits.spinMicroseconds) * 1000
        if mayBlock && !spinning {
            var milliseconds = limits.maximumBlockMilliseconds
            if let deadline {
                milliseconds = min(milliseconds, Int((deadline.remainingNanoseconds + 999_999) / 1_000_000))
            }
            timeout = Int32(max(milliseconds, 0))
        }
        pollerInKernel = timeout > 0
        lock.unlock()
        let count = transport.waitForEvents(timeoutMilliseconds: timeout)
        if count == 0 && mayBlock && timeout == 0 {
            // Every few empty turns, not every one: a yield is a system call,
            // and the message that ends the spin waits for it to return.
            emptySpins &+= 1
            if emptySpins >= spinsPerYield {
                emptySpins = 0
                let yielded = MonotonicClock.nanoseconds()
                sched_yield()
                spinsPerYield = MonotonicClock.nanoseconds() &- yielded < Self.idleYieldNanoseconds
                    ? min(spinsPerYield * 2, Self.mostSpinsPerYield) : Self.fewestSpinsPerYield
            }
        }
        lock.lock()
        pollerInKernel = false
        // Also with no events: the transport keeps a deadline or two of its own.
        transport.handleEvents(count)
        if count > 0 {
            noteActivity()
            checkPendingConditions()
        }
        pollerBusy = false
        return now
    }

    // MARK: Background progress

    private func backgroundLoop() {
        lock.lock()
        defer { lock.unlock() }
        while !shuttingDown {
            // Stay out of the way of application threads that wait (they poll
            // themselves) and of the short gaps between their waits.
            let now = MonotonicClock.nanoseconds()
            if applicationWaiters > 0 || pollerBusy {
                // While waits keep ending, it looks again every millisecond by
                // itself; after a quiet spell it naps long and is told when the
                // last application waiter leaves. Either way it takes over about
                // a millisecond after the last wait.
                let waitsEndOften = now &- lastApplicationWaitEnd < 10_000_000
                backgroundNapsLong = !waitsEndOften
                backgroundCondition.wait(nanoseconds: waitsEndOften ? 1_000_000 : Self.sleeperNapNanoseconds)
                backgroundNapsLong = false
                continue
            }
            if now &- lastApplicationWaitEnd < 1_000_000 {
                backgroundCondition.wait(nanoseconds: 1_000_000)
                continue
            }
            pollOnce(deadline: nil, mayBlock: true)
            // An application thread that came meanwhile sleeps until the role is free.
            if applicationWaiters > 0 { wakeOneSleeperToPoll() }
        }
    }

    /// Drains queued sends, says goodbye to every peer, stops the background
    /// thread and closes the transport.
    func shutdown(deadline: Deadline) {
        do {
            try wait(deadline: deadline, label: "flushing queued sends") { [self] in !transport.hasUnsentFrames }
            lock.withLock { transport.sayGoodbye() }
            try wait(deadline: deadline, label: "waiting for peers to close") { [self] in !transport.hasOpenConnections }
        } catch {
            logger.warning("finalize: \(error); closing anyway")
        }
        lock.withLock {
            shuttingDown = true
            transport.wake()
            backgroundCondition.broadcast()
        }
        if let backgroundThread { pthread_join(backgroundThread, nil) }
        lock.withLock { transport.shutdown() }
    }

    /// A fresh, never reused range of context serials owned by this process.
    func allocateContextSerials(count: Int) -> UInt64 {
        lock.withLock { takeContextSerials(count: count) }
    }

    /// The same with the lock held.
    func takeContextSerials(count: Int) -> UInt64 {
        let first = nextContextSerial
        nextContextSerial += UInt64(max(count, 1))
        return first
    }
}
