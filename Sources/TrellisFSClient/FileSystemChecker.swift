import TrellisFSProtocol

/// fsck for a Trellis file system: scans every server's objects and
/// entries, cross-checks them, and with `repair` fixes what it finds. It
/// runs while clients work: anything changed within `graceSeconds` (by its
/// change time) is left alone, each repair looks again first, and orphans
/// are confirmed by a second scan. A server that does not answer is named,
/// and only the checks that need it are skipped.
public struct FileSystemChecker {
    /// The client it checks through (it must speak for uid 0).
    public let fs: FileSystemClient
    /// Whether to fix what it finds (`trellis fsck --repair`), not only report it.
    public var repair = false
    /// Objects changed more recently than this are left alone: a client may be working on them.
    public var graceSeconds: UInt32 = 300
    /// How long an unresponsive server gets before it counts as down.
    public var pingSeconds: Double = 5
    /// Called with a line of progress now and then.
    public var progress: (String) -> Void = { _ in }

    /// A checker that only reports, with a five-minute grace.
    public init(fs: FileSystemClient) { self.fs = fs }

    /// Everything one server holds, as scanned.
    struct Scan {
        var objects: [ObjectHandle: ObjectAttributes] = [:]
        var entries: [EntryRecord] = []
    }

    /// Scans, cross-checks and (with `repair`) fixes; throws `permissionDenied` unless the client speaks for uid 0.
    public func run() throws -> CheckReport {
        guard fs.credentials.isSuperuser else { throw FSError(.permissionDenied, "fsck must run as uid 0: it reads every server's objects") }
        var report = CheckReport(servers: fs.servers.count)
        let up = reachableServers()
        report.unreachableServers = fs.servers.indices.filter { !up.contains($0) }
        guard !up.isEmpty else { throw FSError(.serverUnavailable, "no server of \(fs.configuration.name) answers") }
        let allUp = report.unreachableServers.isEmpty
        if !allUp {
            report.skippedChecks = [
                "orphan objects, link counts and orphan datafiles (an entry or file on server \(report.unreachableServers.map(String.init).joined(separator: ", ")) may name them)",
            ]
        }
        // Taken before any scan, so whatever the file system does while fsck
        // looks (a refilled pool's new datafiles, say) is too new to judge.
        let cutoff = Timestamp.now().seconds - Int64(graceSeconds)
        // Pools before objects: a datafile leaving a pool for a file after this is listed by that file.
        let pooled = try up.sorted().flatMap(pooledDatafiles(of:))
        var scan = Scan()
        for server in up.sorted() {
            try scanServer(server, into: &scan)
            progress("server \(server): \(scan.objects.count) objects, \(scan.entries.count) entries so far")
        }
        report.objectsScanned = scan.objects.count
        report.entriesScanned = scan.entries.count
        let names = NameIndex(scan.entries, root: fs.configuration.rootHandle)
        func settled(_ object: ObjectAttributes) -> Bool { object.changeTime.seconds <= cutoff }

        var references: [ObjectHandle: Int] = [:]
        for record in scan.entries { references[record.entry.handle, default: 0] += 1 }
        // And after them too: a datafile a failed create is giving back to its pool is in neither meanwhile.
        var listed = Set<ObjectHandle>(pooled + (try up.sorted().flatMap(pooledDatafiles(of:))))
        for object in scan.objects.values where object.kind == .file { listed.formUnion(object.datafiles) }

        // Entries naming objects that are gone (only where the object's server answered);
        // one made between the scans of its object and its entry is no finding, and
        // neither is one whose file a client removed after the entry was scanned
        // (clients remove the entry before the object, so an entry still there
        // after its object was found missing is one that will stay).
        for record in scan.entries {
            guard let owner = record.entry.handle.server, up.contains(owner), scan.objects[record.entry.handle] == nil,
                  try current(record.entry.handle) == nil, try stillNames(record)
            else { continue }
            var finding = CheckFinding(
                kind: .danglingEntry, handle: record.entry.handle, path: names.path(of: record),
                detail: "names object \(record.entry.handle), which server \(owner) does not hold")
            if repair { try removeDanglingEntry(record) }
            finding.repaired = repair
            report.findings.append(finding)
        }
        let objects = scan.objects.values.sorted { $0.handle.rawValue < $1.handle.rawValue }
        // Files listing datafiles that their servers lost.
        for object in objects where object.kind == .file {
            let missing = object.datafiles.filter { datafile in
                guard let server = datafile.server, up.contains(server) else { return false }
                return scan.objects[datafile]?.kind != .datafile
            }
            // A spread after its data server was scanned made them: ask again.
            guard !missing.isEmpty, let now = try current(object.handle) else { continue }
            let lost = try missing.filter { try now.datafiles.contains($0) && !exists(datafile: $0) }
            guard !lost.isEmpty else { continue }
            var finding = CheckFinding(
                kind: .sizeMismatch, handle: object.handle, path: names.path(of: object.handle),
                detail: "lists datafiles \(lost.map(\.description).joined(separator: ", ")) that their servers do not hold, so its size cannot be worked out")
            if repair {
                for (server, datafiles) in fs.byServer(lost) { _ = try fs.call(server: server, RestoreDatafiles(datafiles)) }
                finding.repaired = true
            }
            report.findings.append(finding)
        }
        if allUp {
            try checkReferences(objects, references: references, listed: listed, names: names, settled: settled, into: &report)
        }
        // Bstreams without datafiles: each server knows its own.
        for server in up.sorted() {
            for orphan in try fs.call(server: server, OrphanBstreams(graceSeconds: graceSeconds, remove: repair)) {
                var finding = CheckFinding(kind: .orphanBstream, handle: orphan, path: nil, detail: "bstream on server \(server) with no datafile object")
                finding.repaired = repair
                report.findings.append(finding)
            }
        }
        return report
    }

    /// Orphan objects, link counts and orphan datafiles: these need every
    /// entry and every file of the file system, so every server.
    private func checkReferences(
        _ sorted: [ObjectAttributes], references: [ObjectHandle: Int], listed: Set<ObjectHandle>, names: NameIndex,
        settled: (ObjectAttributes) -> Bool, into report: inout CheckReport
    ) throws {
        var orphanCandidates: [ObjectAttributes] = []
        for object in sorted where object.kind != .datafile && object.handle != fs.configuration.rootHandle && settled(object) {
            let count = references[object.handle] ?? 0
            if count == 0 {
                orphanCandidates.append(object)
            } else if object.kind != .directory, object.linkCount != UInt32(count) {
                var finding = CheckFinding(
                    kind: .wrongLinkCount, handle: object.handle, path: names.path(of: object.handle),
                    detail: "link count \(object.linkCount), but \(count) entr\(count == 1 ? "y names" : "ies name") it")
                if repair { finding.repaired = try setLinkCount(of: object, to: UInt32(count)) }
                report.findings.append(finding)
            }
        }
        if !orphanCandidates.isEmpty {
            // A second look at every entry: a rename across servers in flight during the first scan is no orphan.
            var again = Scan()
            for server in fs.servers.indices { try scanEntries(server, into: &again) }
            let named = Set(again.entries.map(\.entry.handle))
            for object in orphanCandidates where !named.contains(object.handle) {
                var finding = CheckFinding(kind: .orphanObject, handle: object.handle, path: nil, detail: "\(object.kind) that no directory entry names")
                if repair { finding.repaired = try adoptIntoLostAndFound(object) }
                report.findings.append(finding)
            }
        }
        for object in sorted where object.kind == .datafile && !listed.contains(object.handle) && settled(object) {
            var finding = CheckFinding(kind: .orphanDatafile, handle: object.handle, path: nil, detail: "datafile that no file lists")
            if repair {
                _ = try fs.call(owner: object.handle, RemoveDatafiles([object.handle]), capability: fs.serversCapability())
                finding.repaired = true
            }
            report.findings.append(finding)
        }
    }

    // MARK: Scans

    private func reachableServers() -> Set<Int> {
        let saved = fs.timeoutSeconds
        fs.timeoutSeconds = pingSeconds
        defer { fs.timeoutSeconds = saved }
        return Set(fs.servers.indices.filter { (try? fs.ping(server: $0)) != nil })
    }

    private func scanServer(_ server: Int, into scan: inout Scan) throws {
        var after: ObjectHandle?
        repeat {
            let page = try fs.call(server: server, ScanObjects(after: after, limit: 5000))
            for object in page.entries { scan.objects[object.handle] = object }
            after = page.more ? page.entries.last?.handle : nil
        } while after != nil
        try scanEntries(server, into: &scan)
    }

    /// The datafiles a server holds ready in its precreate pool: no orphans.
    private func pooledDatafiles(of server: Int) throws -> [ObjectHandle] {
        try fs.call(server: server, PooledDatafiles())
    }

    private func scanEntries(_ server: Int, into scan: inout Scan) throws {
        var after: EntryCursor?
        repeat {
            let page = try fs.call(server: server, ScanEntries(after: after, limit: 5000))
            scan.entries += page.entries
            after = page.more ? page.entries.last.map { EntryCursor(directory: $0.directory, name: $0.entry.name) } : nil
        } while after != nil
    }

    // MARK: Repairs (each looks again first)

    private func current(_ handle: ObjectHandle) throws -> ObjectAttributes? {
        do {
            return try fs.attributes(of: handle)
        } catch let error as FSError where error.code == .staleHandle {
            return nil
        }
    }

    /// Whether the entry is still in its directory, naming the same object.
    private func stillNames(_ record: EntryRecord) throws -> Bool {
        do {
            return try fs.call(owner: record.directory, Lookup(parent: record.directory, name: record.entry.name)).handle == record.entry.handle
        } catch let error as FSError where error.code == .notFound || error.code == .staleHandle {
            return false
        }
    }

    private func exists(datafile: ObjectHandle) throws -> Bool {
        do {
            _ = try fs.call(owner: datafile, DatafileSizes([datafile]))
            return true
        } catch let error as FSError where error.code == .staleHandle {
            return false
        }
    }

    /// Only if the entry still names that handle (it may have gone meanwhile).
    private func removeDanglingEntry(_ record: EntryRecord) throws {
        do {
            _ = try fs.call(owner: record.directory, RemoveEntry(parent: record.directory, name: record.entry.name, handle: record.entry.handle, owner: 0))
        } catch let error as FSError where error.code == .notFound {
        }
    }

    private func setLinkCount(of object: ObjectAttributes, to count: UInt32) throws -> Bool {
        guard let now = try current(object.handle), now.linkCount == object.linkCount, now.changeTime == object.changeTime else { return false }
        _ = try fs.call(owner: object.handle, SetLinkCount(object.handle, count: count))
        return true
    }

    /// As e2fsck does: the object gets a name in /lost+found (its handle),
    /// so nothing is deleted that someone may still want.
    private func adoptIntoLostAndFound(_ object: ObjectAttributes) throws -> Bool {
        guard let now = try current(object.handle), now.changeTime == object.changeTime else { return false }
        let lostAndFound: ObjectAttributes
        do {
            lostAndFound = try fs.makeDirectory("/lost+found", mode: 0o700)
        } catch let error as FSError where error.code == .exists {
            lostAndFound = try fs.lookup("/lost+found")
        }
        _ = try fs.call(owner: lostAndFound.handle, AddEntry(
            parent: lostAndFound.handle, name: "#" + String(object.handle.rawValue, radix: 16), handle: object.handle, kind: object.kind))
        if object.kind != .directory, object.linkCount != 1 {
            _ = try fs.call(owner: object.handle, SetLinkCount(object.handle, count: 1))
        }
        return true
    }
}

/// Paths from scanned entries: each directory's name in its parent.
struct NameIndex {
    private var parentOf: [ObjectHandle: (directory: ObjectHandle, name: String)] = [:]
    private let root: ObjectHandle

    init(_ entries: [EntryRecord], root: ObjectHandle) {
        self.root = root
        for record in entries where parentOf[record.entry.handle] == nil {
            parentOf[record.entry.handle] = (record.directory, record.entry.name)
        }
    }

    func path(of record: EntryRecord) -> String? {
        path(of: record.directory).map { ($0 == "/" ? "" : $0) + "/" + record.entry.name }
    }

    func path(of handle: ObjectHandle) -> String? {
        var names: [String] = []
        var current = handle
        while current != root {
            guard let step = parentOf[current], names.count < 4096 else { return nil }
            names.append(step.name)
            current = step.directory
        }
        return "/" + names.reversed().joined(separator: "/")
    }
}
