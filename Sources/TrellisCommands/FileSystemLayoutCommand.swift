import ArgumentParser
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol

extension FileSystemCommand {
    /// `trellis fs layout get|set`: where a file's strips live, and the
    /// distribution a directory gives new files.
    struct Layout: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "layout", abstract: "Show where a file's strips live, or set a directory's default distribution.",
            subcommands: [Get.self, Set.self])
    }
}

extension FileSystemCommand.Layout {
    /// What `layout get --json` prints.
    struct Record: Codable {
        struct Datafile: Codable {
            var index: Int
            /// The server that first leads its replica group.
            var server: Int
            /// Its replica group (the server's own, or one kept for a directory's copy count).
            var group: Int
            var service: String
            /// nil while a stuffed file has not made it yet.
            var handle: String?
            var bytes: UInt64
            /// With replicas: the servers holding a copy of its bytes, the
            /// group's current primary first (empty: no copy answered).
            var copies: [Int]?
        }
        struct Strip: Codable {
            var offset: UInt64
            var length: UInt64
            var datafile: Int
            var server: Int
        }
        var path: String
        var kind: String
        var distribution: String?
        /// Copies of the file's bytes (a directory: of its new files' bytes).
        var replicas: Int
        var stuffed: Bool
        var size: UInt64?
        var datafiles: [Datafile]
        /// The file's first strips in logical order (a directory: none).
        var strips: [Strip]
        var moreStrips: Bool
    }

    struct Get: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "A file's distribution, its datafiles (server, handle, bytes) and where its strips live; a directory's default.")
        @OptionGroup var options: FileSystemOptions
        @Flag(help: "One JSON object per path.") var json = false
        @Option(help: "List at most this many strips of a file.") var maxStrips = 16
        @Argument(help: "Files or directories in the file system.") var paths: [String]

        func run(_ fs: FileSystemClient) throws {
            for path in paths {
                let record = try layout(of: path, fs)
                if json {
                    try printJSON(record)
                } else {
                    printTable(record)
                }
            }
        }

        func layout(of path: String, _ fs: FileSystemClient) throws -> Record {
            let object = try fs.stat(path)
            let servers = fs.configuration.servers
            guard object.kind == .file, let distribution = object.distribution else {
                let own = object.distribution ?? (object.kind == .directory ? fs.configuration.defaultDistribution : nil)
                return Record(
                    path: path, kind: "\(object.kind)", distribution: own?.description, replicas: own?.copies ?? fs.configuration.replicas, stuffed: false,
                    size: nil, datafiles: [], strips: [], moreStrips: false)
            }
            let sizes = try fs.datafileSizes(of: object)
            let copies = distribution.copies ?? fs.configuration.replicas
            let members = copies > 1 ? Self.currentMembers(fs) : [:]
            let datafiles = try (0..<distribution.datafileCount).map { index in
                let group = try fs.configuration.group(ofDatafile: index, of: distribution)
                return Record.Datafile(
                    index: index, server: group % fs.configuration.serverCount, group: group, service: servers[group].serviceName,
                    handle: index < object.datafiles.count ? object.datafiles[index].description : nil, bytes: sizes[index],
                    copies: copies > 1 ? members[group] ?? [] : nil)
            }
            let shown = try distribution.pieces(offset: 0, length: min(object.size, Self.span(of: distribution, strips: maxStrips)))
            let strips = shown.map { Record.Strip(offset: $0.logicalOffset, length: $0.length, datafile: $0.datafile, server: datafiles[$0.datafile].server) }
            let covered = strips.last.map { $0.offset + $0.length } ?? 0
            return Record(
                path: path, kind: "file", distribution: distribution.description, replicas: copies, stuffed: object.isStuffed,
                size: object.size, datafiles: datafiles, strips: strips, moreStrips: covered < object.size)
        }

        /// Each replica group's members as its current primary tells them, its primary first.
        static func currentMembers(_ fs: FileSystemClient) -> [Int: [Int]] {
            Dictionary(uniqueKeysWithValues: fs.replicaStatus().compactMap { report in
                report.primary.map { (report.group, $0.members.map { Int($0) }) }
            })
        }

        /// Bytes that `strips` strips of the distribution cover from offset 0.
        static func span(of distribution: Distribution, strips: Int) -> UInt64 {
            let cycle = distribution.stripSizesBytes
            let full = UInt64(strips / cycle.count) * cycle.reduce(0, +)
            return full + cycle.prefix(strips % cycle.count).reduce(0, +)
        }

        func printTable(_ record: Record) {
            print("\(record.path): \(record.kind), \(record.distribution ?? "no distribution")"
                + (record.size.map { ", \($0) bytes" } ?? "") + (record.stuffed ? ", stuffed" : "")
                + (record.replicas > 1 ? ", \(record.replicas) copies" : ""))
            for datafile in record.datafiles {
                let copies = datafile.copies.map { servers in
                    servers.isEmpty ? ", copies: no primary answers" : ", copies on servers \(servers.map(String.init).joined(separator: ", ")) (primary first)"
                } ?? ""
                print("  datafile \(datafile.index): group \(datafile.group) (\(datafile.service)), handle \(datafile.handle ?? "not made yet"), \(datafile.bytes) bytes\(copies)")
            }
            for strip in record.strips {
                print("  bytes \(strip.offset)..<\(strip.offset + strip.length): datafile \(strip.datafile) on server \(strip.server)")
            }
            if record.moreStrips { print("  … (more strips follow the same cycle)") }
        }
    }

    struct Set: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set the distribution that new files in a directory get (existing files keep theirs).")
        @OptionGroup var options: FileSystemOptions
        @Option(help: "Strip size in bytes (a simple stripe).") var stripSizeBytes: UInt64?
        @Option(help: "Datafiles per file, at most the server count (default: every server).") var datafiles: Int?
        @Option(help: "Strip sizes in bytes, comma-separated: a variable strip, one datafile per size.") var variableStripBytes: String?
        @Option(help: "Copies of new files' bytes: the file system's replicas or one of its data_replicas (metadata keeps the file system's count).") var replicas: Int?
        @Argument(help: "Directories in the file system.") var paths: [String]

        func validate() throws {
            guard (stripSizeBytes == nil) != (variableStripBytes == nil) || (replicas != nil && stripSizeBytes == nil && variableStripBytes == nil) else {
                throw ValidationError("give either --strip-size-bytes or --variable-strip-bytes")
            }
        }

        func run(_ fs: FileSystemClient) throws {
            var strips: Distribution?
            if let variableStripBytes {
                let sizes = try variableStripBytes.split(separator: ",").map { part in
                    guard let size = UInt64(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("\(part) is not a strip size in bytes") }
                    return size
                }
                strips = try .variableStrip(stripSizesBytes: sizes)
            } else if let stripSizeBytes {
                strips = try .simpleStripe(stripSizeBytes: stripSizeBytes, datafileCount: datafiles ?? fs.configuration.serverCount)
            }
            for path in paths {
                let directory = try fs.lookup(path)
                guard directory.kind == .directory else { throw FSError(.notDirectory, "\(path) is not a directory: a file's layout is fixed when it is made") }
                // What is not given stays as the directory has it: new strips keep its copies, new copies its strips.
                let current = directory.distribution ?? fs.configuration.defaultDistribution
                let copies = replicas.map { $0 == fs.configuration.replicas ? nil : $0 } ?? current.copies
                let distribution = try (strips ?? current).keeping(copies: copies)
                do {
                    try fs.configuration.check(distribution)
                } catch let error as FSError {
                    throw FSError(error.code, "\(path): \(error.message)")
                }
                try fs.setAttributes(path, AttributeChanges(distribution: distribution))
            }
        }
    }
}
