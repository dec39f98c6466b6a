import TrellisFSProtocol

/// What `-o` says: Trellis's own options, and the rest for libfuse and the
/// kernel (allow_other, default_permissions, ro, fsname, ...).
public struct MountOptions: Sendable, Equatable {
    /// How long the kernel may keep an object's attributes, in seconds.
    public var attributeTimeout = 1.0
    /// How long the kernel may keep a name's lookup, in seconds.
    public var entryTimeout = 1.0
    /// How long, in seconds, a lookup may be answered "absent" from what
    /// this mount knows of a directory it made, after its server last
    /// confirmed it (0: every lookup asks the server). Another client's new
    /// name may be missed that long, as with a negative dentry cached by
    /// libfuse's option of the same name.
    public var negativeTimeout = 1.0
    /// How long one operation may try (retries included) before it fails with EIO.
    public var operationTimeout = 30.0
    /// Readdir with attributes, so `ls -l` costs no lookup per name.
    public var readdirPlus = true
    /// Most FUSE worker threads at once.
    public var maxThreads: UInt32 = 16
    /// Bytes per read and write request (the kernel's largest: 1 MiB).
    public var maxRequestBytes: UInt32 = 1 << 20
    /// How far sequential reads are fetched ahead, in KiB (by the mount
    /// itself, and by the kernel for opens through the page cache): several
    /// requests' worth, so that they keep more than one server busy.
    public var readAheadKiB: UInt32 = 4096
    /// Every open goes around the kernel's page cache, even on a kernel
    /// that cannot then map it shared (before 6.6: mmap fails with ENODEV).
    public var directIO = false
    /// Opens that read go through the kernel's page cache and its
    /// read-ahead. By default they go around it, as write-only ones always
    /// do, when the kernel can still map such files shared (6.6 and later);
    /// the mount then fetches ahead itself.
    public var pageCache = false
    /// Options passed on to libfuse and the kernel.
    public var passedOn: [String] = []

    /// The defaults: 1 s kernel caches, 30 s per operation, readdirplus, 4 MiB read-ahead.
    public init() {}

    /// Parses comma-separated `-o` lists; unknown names go to libfuse.
    public init(parsing lists: [String]) throws {
        for list in lists {
            for option in list.split(separator: ",").map(String.init) where !option.isEmpty {
                try apply(option)
            }
        }
    }

    private mutating func apply(_ option: String) throws {
        let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
        let name = parts[0]
        let value = parts.count > 1 ? parts[1] : nil
        switch name {
        case "attr_timeout": attributeTimeout = try seconds(name, value)
        case "entry_timeout": entryTimeout = try seconds(name, value)
        case "negative_timeout": negativeTimeout = try seconds(name, value)
        case "timeout": operationTimeout = try seconds(name, value, minimum: 1)
        case "readdirplus":
            guard let value, ["yes", "no"].contains(value) else { throw FSError(.invalidArgument, "-o readdirplus takes yes or no") }
            readdirPlus = value == "yes"
        case "max_threads":
            guard let value, let count = UInt32(value), (1...256).contains(count) else { throw FSError(.invalidArgument, "-o max_threads takes 1 to 256") }
            maxThreads = count
        case "max_write":
            guard let value, let bytes = UInt32(value), (4096...(1 << 20)).contains(bytes) else {
                throw FSError(.invalidArgument, "-o max_write takes 4096 to 1048576 bytes")
            }
            maxRequestBytes = bytes
        case "direct_io": directIO = true
        case "page_cache": pageCache = true
        case "read_ahead_kb":
            guard let value, let kib = UInt32(value), kib <= 1 << 20 else { throw FSError(.invalidArgument, "-o read_ahead_kb takes 0 to 1048576") }
            readAheadKiB = kib
        default: passedOn.append(option)
        }
    }

    private func seconds(_ name: String, _ value: String?, minimum: Double = 0) throws -> Double {
        guard let value, let seconds = Double(value), seconds >= minimum, seconds <= 3600 else {
            throw FSError(.invalidArgument, "-o \(name) takes seconds from \(minimum) to 3600, not \(value ?? "nothing")")
        }
        return seconds
    }
}
