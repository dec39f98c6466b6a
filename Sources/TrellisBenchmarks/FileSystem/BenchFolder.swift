import ArgumentParser
import Foundation
import Glibc

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
        return BenchSite(folder: folder, removeAtClose: path == nil)
    }
}

/// One run's folder and what the run started there, stopped in reverse
/// order at `close()`; a folder the run made is removed then too.
final class BenchSite {
    let folder: String
    private let removeAtClose: Bool
    private var stops: [() -> Void] = []

    init(folder: String, removeAtClose: Bool) {
        self.folder = folder
        self.removeAtClose = removeAtClose
    }

    /// Something to undo at close, before what was started earlier is stopped.
    func onClose(_ stop: @escaping () -> Void) {
        stops.append(stop)
    }

    /// A name service of the run's own (this process is pointed at it), stopped at close.
    func startNameService(executable: String) throws {
        let names = try BenchNameService(folder: folder, executable: executable)
        stops.append(names.stop)
    }

    /// A file system in `subfolder` (see `TemporaryFileSystem`), stopped at close.
    func startFileSystem(
        name: String, servers: Int, subfolder: String, executable: String, replicas: Int = 1, mountPoint: String? = nil, mountOptions: [String] = []
    ) throws -> TemporaryFileSystem {
        let system = try TemporaryFileSystem(
            name: name, servers: servers, folder: folder + "/" + subfolder, executable: executable, replicas: replicas, mountPoint: mountPoint,
            mountOptions: mountOptions)
        stops.append(system.stop)
        return system
    }

    /// Stops what the run started, newest first, and removes a folder it made.
    func close() {
        for stop in stops.reversed() { stop() }
        stops = []
        if removeAtClose { try? FileManager.default.removeItem(atPath: folder) }
    }
}
