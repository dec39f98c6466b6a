import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisNames

/// `trellis fs`: the file system from the command line. Paths are absolute
/// paths inside the file system; `cp` marks them `fs:/path` to tell them
/// from local ones.
struct FileSystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "Use a Trellis file system: ls, cp, rm, mkdir, mv, ln, stat, layout, df, ping, xattr, top, replicas.",
        subcommands: [
            List.self, Copy.self, Remove.self, MakeDirectory.self, Move.self, Link.self, Status.self, Layout.self, DiskFree.self, Ping.self,
            ExtendedAttributes.self, Top.self, Replicas.self,
        ])
}

/// Which file system, and how long to wait.
struct FileSystemOptions: ParsableArguments {
    @Option(help: "The file system's name (as `trellis up --name` gave it).") var name = "trellis"
    @Option(help: "Seconds each operation may take, retries included.") var timeout: Double = 60
    @Option(
        name: .customLong("as"),
        help: ArgumentHelp(
            "Act as another user, UID:GID (as root does with sudo -u); servers that prove identities with MUNGE take this only from root.",
            valueName: "uid:gid"))
    var actingAs: String?

    func connect() throws -> FileSystemClient {
        TrellisCommand.bootstrapLogging()
        var credentials = Credentials.current
        if let actingAs {
            let parts = actingAs.split(separator: ":").map { UInt32($0) }
            guard parts.count == 2, let uid = parts[0], let gid = parts[1] else {
                throw ValidationError("--as takes UID:GID in numbers (1000:100), not \(actingAs)")
            }
            credentials = Credentials(uid: uid, gid: gid)
        }
        return try FileSystemClient.connect(name: name, credentials: credentials, timeoutSeconds: timeout)
    }
}

/// A `trellis fs` command that works through one client: it connects to the
/// file system its options name, runs, and closes the client however it ends.
protocol ClientCommand: ParsableCommand {
    var options: FileSystemOptions { get }
    func run(_ fs: FileSystemClient) throws
}

extension ClientCommand {
    func run() throws {
        let fs = try options.connect()
        defer { fs.close() }
        try run(fs)
    }
}

/// What `ls --json` and `stat --json` print for one object.
struct ObjectRecord: Codable {
    var path: String
    var kind: String
    var handle: String
    var mode: String
    var uid: UInt32
    var gid: UInt32
    var size: UInt64
    var links: UInt32
    var modified: Int64
    var distribution: String?
    /// A device node's "major,minor".
    var device: String?

    init(path: String, _ attributes: ObjectAttributes) {
        self.path = path
        kind = "\(attributes.kind)"
        handle = attributes.handle.description
        mode = String(attributes.mode, radix: 8)
        uid = attributes.uid
        gid = attributes.gid
        size = attributes.size
        links = attributes.linkCount
        modified = attributes.modifyTime.seconds
        distribution = attributes.distribution?.description
        if attributes.kind == .characterDevice || attributes.kind == .blockDevice {
            // Linux's dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
            let (dev, low12, low8) = (attributes.rdev, UInt64(0xFFF), UInt64(0xFF))
            device = "\(((dev >> 8) & low12) | ((dev >> 32) & ~low12)),\((dev & low8) | ((dev >> 12) & ~low8))"
        }
    }

    var longLine: String {
        let type = switch kind {
        case "directory": "d"
        case "symlink": "l"
        case "fifo": "p"
        case "socket": "s"
        case "characterDevice": "c"
        case "blockDevice": "b"
        default: "-"
        }
        let bits = Int(mode, radix: 8) ?? 0
        let rwx = (0..<9).map { bit in (bits >> (8 - bit)) & 1 == 1 ? Array("rwxrwxrwx")[bit] : "-" }
        let date = Date(timeIntervalSince1970: TimeInterval(modified))
        return "\(type)\(String(rwx)) \(links) \(uid) \(gid) \((device ?? String(size)).leftPadded(12)) \(date.formatted(.iso8601)) \(path.split(separator: "/").last.map(String.init) ?? path)"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

extension FileSystemCommand {
    struct List: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a directory (JSON: one ObjectRecord per line).")
        @OptionGroup var options: FileSystemOptions
        @Flag(name: .short, help: "Long form: mode, links, owner, size, time.") var long = false
        @Flag(help: "One JSON object per entry.") var json = false
        @Argument(help: "A path in the file system.") var path = "/"

        func run(_ fs: FileSystemClient) throws {
            let target = try fs.stat(path, followLast: true)
            guard target.kind == .directory else {
                emit(ObjectRecord(path: path, target))
                return
            }
            let prefix = path.hasSuffix("/") ? path : path + "/"
            if long || json {
                try fs.listWithAttributes(path) { page in
                    for entry in page { emit(ObjectRecord(path: prefix + entry.name, entry.attributes)) }
                }
            } else {
                try fs.list(path) { page in
                    for entry in page { print(entry.name + (entry.kind == .directory ? "/" : "")) }
                }
            }
        }

        private func emit(_ record: ObjectRecord) {
            if json { try? printJSON(record) } else if long { print(record.longLine) } else { print(record.path) }
        }
    }

    struct Status: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "stat", abstract: "Show an object's attributes (JSON: an ObjectRecord).")
        @OptionGroup var options: FileSystemOptions
        @Flag(help: "One JSON object.") var json = false
        @Argument(help: "Paths in the file system.") var paths: [String]

        func run(_ fs: FileSystemClient) throws {
            for path in paths {
                let record = ObjectRecord(path: path, try fs.stat(path, followLast: false))
                if json {
                    try printJSON(record)
                } else {
                    print("\(path): \(record.kind), \(record.size) bytes, \(record.links) link\(record.links == 1 ? "" : "s"), mode \(record.mode), uid \(record.uid), gid \(record.gid), handle \(record.handle)"
                        + (record.distribution.map { ", \($0)" } ?? ""))
                }
            }
        }
    }

    struct MakeDirectory: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "mkdir", abstract: "Make directories.")
        @OptionGroup var options: FileSystemOptions
        @Flag(name: .short, help: "Make missing parents; existing directories are fine.") var parents = false
        @Option(help: "Default strip size (bytes) of files made in the new directories.") var stripSizeBytes: UInt64?
        @Option(help: "Default datafiles per file in the new directories (with --strip-size-bytes).") var datafiles: Int?
        @Argument(help: "Paths in the file system.") var paths: [String]

        func run(_ fs: FileSystemClient) throws {
            var layout: Distribution?
            if let stripSizeBytes {
                layout = try .simpleStripe(stripSizeBytes: stripSizeBytes, datafileCount: datafiles ?? fs.configuration.serverCount)
            }
            for path in paths {
                let made = parents ? try fs.makeDirectories(path) : try fs.makeDirectory(path)
                // New strips keep the copy count the directory inherited.
                let inherited = (made.distribution ?? fs.configuration.defaultDistribution).copies
                if let layout { try fs.setAttributes(path, AttributeChanges(distribution: try layout.keeping(copies: inherited))) }
            }
        }
    }

    struct Remove: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove files (and directories with -r).")
        @OptionGroup var options: FileSystemOptions
        @Flag(name: .short, help: "Remove directories and everything in them.") var recursive = false
        @Argument(help: "Paths in the file system.") var paths: [String]

        func run(_ fs: FileSystemClient) throws {
            for path in paths { try remove(path, fs) }
        }

        private func remove(_ path: String, _ fs: FileSystemClient) throws {
            let target = try fs.stat(path, followLast: false)
            guard target.kind == .directory else { return try fs.removeFile(path) }
            guard recursive else { throw CommandFailure("\(path) is a directory: use rm -r") }
            for entry in try fs.list(path) { try remove((path.hasSuffix("/") ? path : path + "/") + entry.name, fs) }
            try fs.removeDirectory(path)
        }
    }

    struct Move: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "mv", abstract: "Rename a file or directory (atomic).")
        @OptionGroup var options: FileSystemOptions
        @Argument(help: "The path to rename.") var from: String
        @Argument(help: "Its new path.") var to: String

        func run(_ fs: FileSystemClient) throws {
            try fs.rename(from, to: to)
        }
    }

    struct DiskFree: ClientCommand {
        static let configuration = CommandConfiguration(commandName: "df", abstract: "Space and objects over all servers (JSON: totalBytes, freeBytes, objects, servers).")
        @OptionGroup var options: FileSystemOptions
        @Flag(help: "One JSON object.") var json = false

        struct Record: Codable { var totalBytes: UInt64; var freeBytes: UInt64; var objects: UInt64; var servers: Int }

        func run(_ fs: FileSystemClient) throws {
            let statistics = try fs.statistics()
            let record = Record(totalBytes: statistics.totalBytes, freeBytes: statistics.freeBytes, objects: statistics.objectCount, servers: fs.configuration.serverCount)
            if json {
                try printJSON(record)
            } else {
                print("\(fs.configuration.name): \(record.servers) servers, \(record.totalBytes / 1_048_576) MiB total, \(record.freeBytes / 1_048_576) MiB free, \(record.objects) objects")
            }
        }
    }

    struct Ping: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ping", abstract: "Check every server; name the ones that do not answer (JSON: one line per server).")
        @OptionGroup var options: FileSystemOptions
        @Flag(help: "One JSON object per server.") var json = false

        struct Record: Codable { var server: Int; var service: String; var address: String?; var ok: Bool; var milliseconds: Double; var error: String? }

        func run() throws {
            var options = options
            options.timeout = min(options.timeout, 10)
            let fs = try options.connect()
            defer { fs.close() }
            var failed: [String] = []
            let names = try? NameServiceClient(address: NameServiceLocation.resolve().address, timeoutSeconds: 2)
            for index in fs.configuration.metadataGroups {
                let start = MonotonicClock.nanoseconds()
                let service = fs.configuration.servers[index].serviceName
                // Where it listens, as published; else the host its configuration places it on.
                let published = (try? names?.call(NameRequest(.lookup, service: service)))?.flatMap(\.port).flatMap(Self.hostAndPort)
                let host = fs.configuration.servers[index].host
                let place = published.map { " at \($0)" } ?? (host.isEmpty ? "" : " on \(host)")
                var record = Record(server: index, service: service, address: published ?? (host.isEmpty ? nil : host), ok: true, milliseconds: 0, error: nil)
                do { try fs.ping(server: index) } catch {
                    record.ok = false
                    record.error = "\(error)"
                    failed.append(place.isEmpty ? String(index) : "\(index) (\(place.dropFirst()))")
                }
                record.milliseconds = Double(MonotonicClock.nanoseconds() - start) / 1e6
                if json { try printJSON(record) } else {
                    print("server \(index) (\(record.service)\(place)): " + (record.ok ? "ok in \(String(format: "%.1f", record.milliseconds)) ms" : "FAILED: \(record.error!)"))
                }
            }
            if !failed.isEmpty { throw CommandFailure("server(s) \(failed.joined(separator: ", ")) of \(fs.configuration.name) did not answer") }
        }

        /// "10.0.0.3:4000" from a port name such as "trellis-port://10.0.0.3:4000/...".
        static func hostAndPort(_ port: String) -> String? {
            guard let start = port.range(of: "://") else { return nil }
            let rest = port[start.upperBound...]
            return String(rest.prefix { $0 != "/" })
        }
    }
}
