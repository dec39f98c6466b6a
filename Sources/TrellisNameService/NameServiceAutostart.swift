import Logging
import TrellisCore
import TrellisNames
import TrellisSystem

/// Starts a name-service daemon on demand, so that publish and lookup need
/// nothing started beforehand (Table 1 of the persistent-services paper,
/// Latham, Ross and Thakur, "Can MPI Be Used for Persistent Parallel
/// Services?"). Only for addresses on this host; `TRELLIS_NAMES_AUTOSTART=0`
/// turns it off. The daemon is `trellis names start --daemon`, which keeps
/// none of its starter's descriptors.
public enum NameServiceAutostart {
    /// Whether a daemon may be started for `address`: only on this host
    /// (`127.x.x.x` or `localhost`), and not when `TRELLIS_NAMES_AUTOSTART` is `0`.
    public static func isAllowed(address: String, environment: [String: String]) -> Bool {
        if environment["TRELLIS_NAMES_AUTOSTART"] == "0" { return false }
        return address.hasPrefix("127.") || address.hasPrefix("localhost:")
    }

    /// Starts one at `address` if this process may; whether it did.
    public static func startIfAllowed(address: String, environment: [String: String], logger: Logger) throws -> Bool {
        guard isAllowed(address: address, environment: environment) else { return false }
        let executable = try TrellisExecutable.locate()
        logger.notice("no name service at \(address); starting one with \(executable)")
        let status = try ProcessSpawner.runToCompletion(
            arguments: [executable, "names", "start", "--daemon", "--address", address] + NameServiceSetup.startFlags(environment: environment),
            environment: ProcessEnvironment.current())
        // Another process may have started it at the same moment; either way it must answer now.
        if status != 0, (try? NameServiceClient(address: address, authentication: NameServiceSetup.authentication(environment: environment)).call(NameRequest(.status))) == nil {
            throw TrellisError(.nameServiceUnavailable, "could not start a name service at \(address) (`trellis names start --daemon` exited \(status))")
        }
        return true
    }
}
