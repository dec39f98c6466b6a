/// Who moves the runtime on while a thread waits.
public enum WaitProgress: Sendable {
    /// The waiting thread polls the transport itself whenever no other
    /// thread does: the fastest way for a thread to get its messages.
    case polls
    /// The waiting thread only sleeps until what it waits on is done: the
    /// threads that poll complete it, or the background progress thread
    /// once none has waited for about a millisecond. For a thread whose
    /// waits are long and seldom urgent (a service's failure watch) beside
    /// a busy one that serves: with both polling, the one that had waited
    /// longest held the poller role and handed the busy thread every
    /// message it got, a wake-up and two context switches each. Without a
    /// background thread (`TRELLIS_ASYNC_PROGRESS=0`) the thread polls.
    case leavesPollingToOthers
}
