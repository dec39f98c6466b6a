import Glibc
import CFuse3
import Logging
import TrellisFSClient
import TrellisFSProtocol
import TrellisSystem

/// A Trellis file system mounted through libfuse3's low-level API:
/// multi-threaded, requests of up to 1 MiB, short attribute and entry
/// caches, readdirplus.
///
/// ```swift
/// let mount = try FuseMount(client: fs, at: "/mnt/trellis", options: MountOptions())
/// try mount.run()          // until `trellis umount /mnt/trellis` or SIGTERM
/// ```
/// `stop` may be called from any thread; everything else belongs to the thread that runs it.
public final class FuseMount: @unchecked Sendable {
    /// The directory it is mounted on.
    public let mountPoint: String
    private let mounted: MountedFileSystem
    private let session: OpaquePointer
    private var isMounted = false

    /// Mounts the client's file system on `mountPoint` (an existing, empty directory); serving starts with `run`.
    public init(client: FileSystemClient, at mountPoint: String, options: MountOptions, logger: Logger = Logger(label: "trellis.fuse")) throws {
        self.mountPoint = mountPoint
        mounted = MountedFileSystem(client: client, mountPoint: mountPoint, options: options, logger: logger)
        // The kernel checks permissions itself, against attributes no older
        // than attr_timeout, at every step of every path walk, for every
        // user: its entry and attribute caches would otherwise let a user
        // reach, for a while, what another user's lookup found (a cached
        // path walk asks the mount nothing). The servers check every request too.
        var mountOptions = ["fsname=trellis:\(client.configuration.name)", "subtype=trellis", "default_permissions"]
        // root mounts for the whole cluster node, as a kernel client would.
        if geteuid() == 0, !options.passedOn.contains("allow_other") { mountOptions.append("allow_other") }
        mountOptions += options.passedOn.filter { $0 != "default_permissions" }
        let arguments = ["trellis", "-o", mountOptions.joined(separator: ",")]
        var cStrings = arguments.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let userData = Unmanaged.passUnretained(mounted).toOpaque()
        // libfuse copies the table.
        var operations = OperationTable.make()
        let made = cStrings.withUnsafeMutableBufferPointer { argv in
            var args = fuse_args(argc: Int32(argv.count), argv: argv.baseAddress, allocated: 0)
            defer { fuse_opt_free_args(&args) }
            return fuse_session_new(&args, &operations, MemoryLayout<fuse_lowlevel_ops>.size, userData)
        }
        guard let session = made else {
            throw FSError(.invalidArgument, "libfuse refused the mount options \(mountOptions.joined(separator: ",")) (see its message above)")
        }
        self.session = session
        guard fuse_session_mount(session, mountPoint) == 0 else {
            fuse_session_destroy(session)
            throw FSError(.ioError, "cannot mount on \(mountPoint): is it an existing, empty directory, and is /dev/fuse there (modprobe fuse)?")
        }
        isMounted = true
        if !KernelInitWatch.install(on: session) {
            logger.warning("cannot watch the mount's INIT: reading opens use the page cache")
        }
        MountTable.setReadAhead(of: mountPoint, kibibytes: Int(options.readAheadKiB))
    }

    /// Serves the kernel's requests until the mount is unmounted or `stop`
    /// is called; then unmounts. With `handlingSignals`, libfuse's own
    /// handlers stop it on SIGINT, SIGTERM or SIGHUP (leave it off under a
    /// service group, which handles the signals and calls `stop`).
    public func run(handlingSignals: Bool = true) throws {
        if handlingSignals {
            guard fuse_set_signal_handlers(session) == 0 else { throw FSError(.ioError, "cannot install the mount's signal handlers") }
        }
        defer { if handlingSignals { fuse_remove_signal_handlers(session) } }
        let threads = mounted.options.maxThreads
        let result = trellis_fuse_loop_mt(session, threads)
        unmount()
        guard result == 0 || result == -EINTR || result == SIGTERM || result == SIGINT || result == SIGHUP else {
            throw FSError(.ioError, "the mount on \(mountPoint) stopped: \(String(cString: strerror(abs(result))))")
        }
    }

    /// Makes `run` return from any thread: the session is told to exit and
    /// the mount is detached, which ends the workers' reads of /dev/fuse (a
    /// flag alone would wait for the kernel's next request). Programs still
    /// inside the mount see it go, as after `umount -l`.
    public func stop() {
        fuse_session_exit(session)
        if geteuid() == 0 {
            _ = umount2(mountPoint, Int32(MNT_DETACH))
        } else {
            _ = try? ProcessSpawner.runToCompletion(arguments: ["/usr/bin/fusermount3", "-u", "-z", mountPoint], environment: ProcessEnvironment.current())
        }
    }

    /// Unmounts (the kernel fails anything still in flight) and releases the clients.
    public func unmount() {
        guard isMounted else { return }
        isMounted = false
        fuse_session_unmount(session)
    }

    deinit {
        unmount()
        fuse_session_destroy(session)
        mounted.pool.close()
    }
}
