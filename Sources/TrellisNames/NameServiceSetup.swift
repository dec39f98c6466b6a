import Logging
import Synchronization
import TrellisKeys

/// What a process does about the name service beyond asking it: where the
/// configuration says it is, and whether to start one when a publish or
/// lookup finds none. A program built on the message-passing library alone
/// finds it by `TRELLIS_NAME_SERVICE` or the default local port and starts
/// nothing; the trellis commands install `NameServiceSetup.standard` (in
/// `TrellisNameService`), which reads their config file and starts a
/// daemon on this host when none answers.
public struct NameServiceSetup: Sendable {
    /// The configured address and where it came from, or nil (nil: none is read).
    public var configuredAddress: (@Sendable (_ environment: [String: String]) throws -> (address: String, source: String)?)?
    /// Starts a name service at an address where none answered, if this
    /// process may (nil: the request fails with `nameServiceUnavailable`).
    public var startWhenMissing: (@Sendable (_ address: String, _ environment: [String: String], _ logger: Logger) throws -> Bool)?

    /// A setup with the given behaviours; nil leaves one out (no configuration read, nothing started).
    public init(
        configuredAddress: (@Sendable ([String: String]) throws -> (address: String, source: String)?)? = nil,
        startWhenMissing: (@Sendable (String, [String: String], Logger) throws -> Bool)? = nil
    ) {
        self.configuredAddress = configuredAddress
        self.startWhenMissing = startWhenMissing
    }

    private static let installed = Mutex(NameServiceSetup())

    /// The setup in force (a plain one until a program installs another).
    public static var current: NameServiceSetup { installed.withLock { $0 } }

    /// Installs `setup` for this process; call it at start, before any runtime.
    public static func install(_ setup: NameServiceSetup) { installed.withLock { $0 = setup } }
}

extension NameServiceSetup {
    /// What `trellis names start` needs beyond its address when a process
    /// with `environment` starts it for itself: `--insecure` when that
    /// process holds no cluster key (it could not use a service that asks
    /// for one), nothing when it holds one (the service then finds the same).
    public static func startFlags(environment: [String: String]) -> [String] {
        ((try? PeerAuthentication.fromEnvironment.key(environment: environment)) ?? nil) == nil ? ["--insecure"] : []
    }

    /// How a process with `environment` authenticates to the name service it starts or uses.
    public static func authentication(environment: [String: String]) -> PeerAuthentication {
        environment["TRELLIS_AUTH"] == "none" ? .none : .fromEnvironment
    }
}
