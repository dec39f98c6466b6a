import Glibc
import TrellisCore
import TrellisKeys

/// The secret of one job over hosts: the launcher makes it, hands it to
/// each proxy it starts by a way nobody else on the host can read (the
/// proxy's environment, ssh's encrypted stdin, Slurm's exported environment,
/// an agent's encrypted request), never on a command line, and every link of
/// the job's tree proves it and is encrypted with keys drawn from it
/// (`LinkHandshake`). Ranks never see it: a proxy takes it out of its
/// environment before it starts any. Hydra hands its proxies nothing of
/// the kind; Slurm's steps rest on MUNGE the same way.
public struct JobKey: Sendable, Equatable {
    /// 32 random bytes.
    public let bytes: [UInt8]

    /// The variable that carries the key into a proxy started without ssh.
    public static let environmentVariable = "TRELLIS_JOB_KEY"

    /// Wraps the given bytes as a key.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// A new key from the system's cryptographic generator.
    public static func random() -> JobKey { JobKey(bytes: AgentKey.randomBytes(32)) }

    /// The key as 64 lowercase hexadecimal digits.
    public var hex: String { Hex.encode(bytes) }

    /// The key from its 64 hexadecimal digits; nil for anything else.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex.lowercased()), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// The key a proxy was handed: `TRELLIS_JOB_KEY`, taken out of the
    /// environment so that no rank inherits it, else (`fromStandardInput`,
    /// a proxy started over ssh) the first line of its standard input.
    public static func handedToProxy(fromStandardInput: Bool) throws -> JobKey {
        if let value = getenv(environmentVariable) {
            let text = String(cString: value)
            unsetenv(environmentVariable)
            guard let key = JobKey(hex: text) else { throw TrellisError(.invalidArgument, "\(environmentVariable) is not 64 hexadecimal digits") }
            return key
        }
        guard fromStandardInput else {
            throw TrellisError(.invalidArgument, "this proxy was handed no job key (\(environmentVariable)); trellis run starts proxies with one")
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count <= 128, read(STDIN_FILENO, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        guard let key = JobKey(hex: String(decoding: line, as: UTF8.self)) else {
            throw TrellisError(.invalidArgument, "the job key on standard input is not 64 hexadecimal digits")
        }
        return key
    }
}
