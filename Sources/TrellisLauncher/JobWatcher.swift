/// A program that runs a job for its own ends (a cluster tool gathering
/// each host's output) rather than for the terminal: it gets the ranks'
/// output and the launcher's notices that `trellis run` would print.
/// Called on the launcher's thread, one call at a time.
public protocol JobWatcher: AnyObject, Sendable {
    /// Bytes a rank wrote (`stream` 1 or 2), in whole lines while it runs.
    func output(rank: Int, stream: Int, bytes: [UInt8])
    /// What `trellis run` would print after "trellis run: ".
    func notice(_ text: String)
    /// A rank ended with this wait status (for a count of hosts done).
    func rankEnded(rank: Int, status: Int32)
}

extension JobWatcher {
    /// Does nothing, for watchers that do not count ranks.
    public func rankEnded(rank: Int, status: Int32) {}
}
