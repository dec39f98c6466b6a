import Glibc
import ArgumentParser
import Foundation
import Logging
import TrellisCore
import TrellisFSClient
import TrellisFUSE
import TrellisRunCommand
import TrellisServices
import TrellisSystem

/// `trellis mount`: the file system as a directory that every program can use.
struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount a Trellis file system through FUSE.",
        discussion: """
            FS is the file system's name (as `trellis up --name` gave it) or one server's port name. Without \
            --foreground the mount runs in the background once it is ready and logs to --log. Options (-o, \
            comma-separated): attr_timeout=S and entry_timeout=S (kernel caches, default 1 s), negative_timeout=S (how long a name may be answered \
            absent from what the mount knows of a directory it made, default 1 s; 0: every lookup asks), timeout=S (per \
            operation, retries included, default 30 s; then EIO), readdirplus=yes|no, max_threads=N, max_write=BYTES, read_ahead_kb=KIB (how far sequential reads are fetched ahead, default 4096), \
            page_cache (reads through the kernel's page cache; by default they go around it when the kernel can still \
            map such files shared, 6.6 and later), direct_io (around the page cache on any kernel); \
            any other option (allow_other, default_permissions, ro, ...) goes to libfuse and the kernel. \
            `trellis umount MOUNTPOINT` unmounts.
            """)

    @Argument(help: "The file system's name, or a server's port name.") var fileSystem: String
    @Argument(help: "An existing, empty directory.") var mountPoint: String
    @Option(name: .customShort("o"), help: "Mount options, comma-separated (repeatable).") var options: [String] = []
    @Flag(name: [.customShort("f"), .long], help: "Stay in the foreground until unmounted.") var foreground = false
    @Option(help: "Where a background mount logs.") var log: String?
    @OptionGroup var metrics: MetricsOptions

    func validate() throws {
        _ = try MountOptions(parsing: options)
    }

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let point = URL(fileURLWithPath: mountPoint).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: point, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("\(point) is not an existing directory")
        }
        if foreground {
            try serve(at: point)
        } else {
            try startInBackground(at: point)
        }
    }

    private func serve(at point: String) throws {
        let mountOptions = try MountOptions(parsing: options)
        // Before the client and the mount, whose metrics would otherwise report nowhere.
        let endpoint = try metrics.endpoint(ownHost: "127.0.0.1")
        let client: FileSystemClient
        if fileSystem.contains(":") {
            client = try FileSystemClient.connect(portName: fileSystem, timeoutSeconds: mountOptions.operationTimeout)
        } else {
            client = try FileSystemClient.connect(name: fileSystem, timeoutSeconds: mountOptions.operationTimeout)
        }
        let mount = try FuseMount(client: client, at: point, options: mountOptions, logger: Logger(label: "trellis.fuse"))
        print("mounted \(fileSystem) on \(point)\(endpoint.map { ", metrics at http://\($0.published)/metrics" } ?? "")")
        fflush(nil)
        let service = BlockingService("mount on \(point)", run: { try mount.run(handlingSignals: false) }, stop: mount.stop)
        try ServiceRunner.runUntilSignalled([service] + (endpoint.map { [$0.endpoint] } ?? []), logger: Logger(label: "trellis.fuse"))
    }

    /// As mount.fuse does: the caller returns once the mount is there (or with the reason it is not).
    private func startInBackground(at point: String) throws {
        let logPath = log ?? "/tmp/trellis-mount-\(getuid()).log"
        var arguments = [currentExecutablePath(), "mount", fileSystem, point, "--foreground"]
        for option in options { arguments += ["-o", option] }
        arguments += metrics.arguments
        let child = try ProcessSpawner.spawn(arguments: arguments, environment: ProcessEnvironment.current(), logPath: logPath, newSession: true)
        var exitStatus: Int32 = 0
        let ready = poll(until: .after(seconds: 60), intervalMicroseconds: 50_000) {
            if waitpid(child, &exitStatus, WNOHANG) == child { return true }
            return MountTable.isTrellisMount(point)
        }
        guard ready, MountTable.isTrellisMount(point) else {
            if !ready { kill(child, SIGTERM) }
            throw CommandFailure("the mount of \(fileSystem) on \(point) did not start; see \(logPath)")
        }
        print("mounted \(fileSystem) on \(point) (process \(child), log \(logPath))")
    }
}

/// `trellis umount`: works while servers are unreachable, since nothing it
/// does talks to them; a busy mount is detached lazily with --lazy.
struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "umount", abstract: "Unmount a Trellis FUSE mount.")

    @Argument(help: "The mount point.") var mountPoint: String
    @Flag(name: [.customShort("l"), .long], help: "Detach now even if busy; the kernel finishes when the last user leaves.") var lazy = false

    func run() throws {
        let point = URL(fileURLWithPath: mountPoint).standardizedFileURL.path
        guard MountTable.isTrellisMount(point) else { throw CommandFailure("\(point) is not a Trellis mount") }
        if geteuid() == 0 {
            guard umount2(point, lazy ? Int32(MNT_DETACH) : 0) == 0 else {
                let reason = String(cString: strerror(errno))
                throw CommandFailure("cannot unmount \(point): \(reason)\(errno == EBUSY ? " (use --lazy to detach it now)" : "")")
            }
        } else {
            let status = try ProcessSpawner.runToCompletion(arguments: ["/usr/bin/fusermount3", "-u"] + (lazy ? ["-z"] : []) + [point], environment: ProcessEnvironment.current())
            guard status == 0 else { throw CommandFailure("fusermount3 could not unmount \(point) (exit \(status))") }
        }
        print("unmounted \(point)")
    }
}
