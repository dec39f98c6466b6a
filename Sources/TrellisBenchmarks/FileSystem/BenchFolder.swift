import ArgumentParser
import Dispatch
import Foundation
import Glibc
import TrellisFSServer
import TrellisRuntime
import TrellisSystem

/// The `--data` option of the file-system benchmarks: the folder for the
/// name service, file systems, mounts and local-disk files they start.
public struct BenchFolder: ParsableArguments {
    @Option(name: .customLong("data"), help: "Folder for the file systems and local files it makes (default: a new one under /tmp, removed afterwards).")
    var path: String?

    /// No folder given: each run makes its own under the temporary folder.
    public init() {}

    /// The folder for a run of `bench`, made if it is not there: the one given,
    /// or `trellis-bench-BENCH-PID` under the temporary folder.
    func open(_ bench: String) throws -> BenchSite {
        let folder = path ?? (NSTemporaryDirectory() + "trellis-bench-\(bench)-\(getpid())")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let site = BenchSite(folder: folder, removeAtClose: path == nil)
        site.closeOnSignals()
        return site
    }
}

/// One run's folder and what the run started there, stopped in reverse
/// order at `close()`; a folder the run made is removed then too. SIGINT or
/// SIGTERM closes it too (the run's servers, mounts and name service stop)
/// and ends the process, so a bench stopped early leaves nothing running.
final class BenchSite: @unchecked Sendable {
    let folder: String
    private let removeAtClose: Bool
    /// Under `lock`: the signal handlers' thread takes them too.
    private var stops: [() -> Void] = []
    private let lock = NSLock()
    /// Held through a close, so that a second one (the run ending while a
    /// signal closes the site) waits for the first to finish.
    private let closing = NSLock()
    private var signalSources: [any DispatchSourceSignal] = []

    init(folder: String, removeAtClose: Bool) {
        self.folder = folder
        self.removeAtClose = removeAtClose
    }

    /// Something to undo at close, before what was started earlier is stopped.
    func onClose(_ stop: @escaping () -> Void) {
        lock.withLock { stops.append(stop) }
    }

    /// A name service of the run's own (this process is pointed at it),
    /// stopped at close. It holds the cluster key this process finds, made
    /// first when there is none (as trellis up does), so that the file
    /// systems the run starts, which need one, can use it.
    @discardableResult
    func startNameService(executable: String) throws -> BenchNameService {
        let environment = ProcessEnvironment.current()
        if environment["TRELLIS_AUTH"] != "none" { _ = try ClusterKey.locateOrMake(environment: environment) }
        let names = try BenchNameService(folder: folder, executable: executable)
        onClose { names.stop() }
        return names
    }

    /// A file system in `subfolder` (see `TemporaryFileSystem`), stopped at
    /// close; keyed unless `authentication` or `TRELLIS_AUTH=none` says otherwise.
    func startFileSystem(
        name: String, servers: Int, subfolder: String, executable: String, replicas: Int = 1, mountPoint: String? = nil, mountOptions: [String] = [],
        authentication: FileSystemConfiguration.Authentication? = nil
    ) throws -> TemporaryFileSystem {
        let keyless = ProcessEnvironment.value("TRELLIS_AUTH") == "none"
        let system = try TemporaryFileSystem(
            name: name, servers: servers, folder: folder + "/" + subfolder, executable: executable, replicas: replicas, mountPoint: mountPoint,
            mountOptions: mountOptions, authentication: authentication ?? (keyless ? FileSystemConfiguration.Authentication.none : .key))
        onClose { system.stop() }
        return system
    }

    /// Stops what the run started, newest first, and removes a folder it made.
    func close() {
        closing.lock()
        defer { closing.unlock() }
        stopEverything()
    }

    private func stopEverything() {
        let taken = lock.withLock {
            defer { stops = [] }
            return stops
        }
        for stop in taken.reversed() { stop() }
        if removeAtClose { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// From now on SIGINT, SIGTERM and SIGHUP close the site and end the
    /// process (with 128 plus the signal's number, as a shell reports it),
    /// and so does a closed output (`| head -1`) once a record finds it so.
    /// The pipe's signal is ignored rather than caught: it ended the bench
    /// before it could stop what it started, and libdispatch's source for it
    /// raises it again without end.
    func closeOnSignals() {
        signal(SIGPIPE, SIG_IGN)
        BenchmarkOutput.whenClosed.withLock {
            $0 = { [self] in stopAndExit(because: "its output was closed", status: 128 + SIGPIPE) }
        }
        signalSources = [SIGINT, SIGTERM, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in stopAndExit(because: "stopped by signal \(number)", status: 128 + number) }
            source.resume()
            return source
        }
    }

    private func stopAndExit(because reason: String, status: Int32) -> Never {
        BenchmarkOutput.progress("bench: \(reason); stopping what it started")
        // The close lock is kept until the exit: a run that fails meanwhile (its clients stopped
        // under it) waits in its own close() instead of ending the process with its error first.
        closing.lock()
        stopEverything()
        exit(status)
    }
}
