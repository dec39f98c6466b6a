/// What one host's command did: its output (stdout and stderr in the
/// order they came) and how it ended.
public struct HostResult: Sendable, Equatable {
    /// How a host's command ended.
    public enum End: Sendable, Equatable {
        /// The command's exit code (128 + signal when a signal killed it).
        case exited(code: Int32)
        /// It ran past `--timeout` and was stopped.
        case timedOut
        /// The host could not be reached or was lost (ssh failed, link cut), with why.
        case unreachable(reason: String)
    }

    /// The host's name.
    public var host: String
    /// Everything the command printed; empty when `ExecJob.live` printed it as it came.
    public var output: [UInt8]
    /// How the command ended.
    public var end: End

    /// A result for `host` with the given output and end.
    public init(host: String, output: [UInt8], end: End) {
        self.host = host
        self.output = output
        self.end = end
    }

    /// The code this host contributes to the command's exit code: its own,
    /// 124 for a timeout (as timeout(1)), 255 for an unreachable host (as ssh).
    public var exitCode: Int32 {
        switch end {
        case .exited(let code): code
        case .timedOut: 124
        case .unreachable: 255
        }
    }
}
