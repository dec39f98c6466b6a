import TrellisWire

/// The launcher's key-value service as a pure state machine speaking PMI-1
/// (put, fence as `barrier_in` / `barrier_out`, get, and the bookkeeping
/// MPICH's simple PMI client sends, in its 1.1 and 1.2 forms) and PMI-2
/// (fullinit, job-getid, kvs-put / kvs-get / kvs-fence, info-getjobattr,
/// info-putnodeattr / info-getnodeattr, finalize, abort). Feed it one
/// command from one rank with the wire it came in; it answers with the
/// replies to write, possibly to several ranks. Every request gets an
/// answer, an error one when it cannot be served, except abort.
public struct PMIServerState: Sendable {
    /// The number of ranks in the job, answered as PMI's size and universe size.
    public let size: Int
    /// The name of the job's key-value space, which clients ask for with
    /// `get_my_kvsname` (PMI-1) or `job-getid` (PMI-2).
    public let kvsName: String
    private(set) var store: [String: String] = [:]
    /// Ranks in the fence, with the wire each entered by, and the PMI-2
    /// thread ids to echo when it is released.
    private var inBarrier: [Int: PMIWire] = [:]
    private var fenceThreads: [Int: String] = [:]
    /// PMI-2's node attributes (all ranks share this host), and who waits for one.
    private var nodeAttributes: [String: String] = [:]
    private var nodeAttributeWaiters: [(rank: Int, key: String, thread: String?)] = []
    /// The ranks that have sent PMI's `finalize`; the launcher counts a rank
    /// that exits after `init` without it as failed.
    public private(set) var finalized = Set<Int>()
    /// Each rank's spawn as its programs arrive, one `mcmd` block each, and
    /// the first reason one of them was refused (answered after the last).
    private var spawning: [Int: (programs: [PMISpawnProgram], refusal: String?)] = [:]

    /// Bounds on what ranks may store; puts past them are refused with an error reply.
    public struct Limits: Sendable {
        /// Longest key in bytes, reported to PMI-1 clients as `keylen_max`.
        public var keyBytes = 256
        /// Longest value in bytes, reported to PMI-1 clients as `vallen_max`.
        public var valueBytes = 1024
        /// Most keys the store holds; a put of a new key beyond it is refused.
        public var entries = 1_000_000
    }
    /// The bounds applied to puts and reported by `get_maxes`.
    public var limits = Limits()

    /// Each rank's application number (MPMD jobs); all 0 by default.
    public let applicationNumbers: [Int]

    /// How many ranks this service answers; nil when it serves the whole
    /// job alone and releases fences itself.
    private let localRankCount: Int?
    /// Puts since the last fence, which go up the tree when this host's ranks have all entered it.
    private var pendingPuts: [String: String] = [:]

    /// `localRanks`: the ranks of the job on this host, when this service is
    /// one host's in a tree of them; its fences then end in `fenceEntered`,
    /// and `releaseFence` lets the ranks go once every host has entered.
    /// `processMapping` says which ranks share a host (all of them by default).
    /// `entries`: keys in the store from the start (a spawn's preput keys).
    public init(
        size: Int, kvsName: String, applicationNumbers: [Int]? = nil, localRanks: [Int]? = nil, processMapping: String? = nil,
        entries: [String: String] = [:]
    ) {
        self.size = size
        self.kvsName = kvsName
        self.applicationNumbers = applicationNumbers ?? Array(repeating: 0, count: size)
        localRankCount = localRanks?.count
        // MPICH reads this to learn which ranks share a node.
        store["PMI_process_mapping"] = processMapping ?? "(vector,(0,1,\(size)))"
        store.merge(entries) { _, given in given }
    }

    /// Something the owner of the service must do after handling a command.
    public enum Event: Equatable, Sendable {
        /// Write this command back to the rank's PMI connection, in the wire form the
        /// rank uses.
        case reply(rank: Int, PMICommand)
        /// The rank asked to abort the whole job.
        case abort(rank: Int, code: Int, message: String)
        /// Every rank of this host is in the fence; these are their puts since the last one.
        case fenceEntered(puts: [String: String])
        /// The rank asked for a new job of these programs (MPI_Comm_spawn);
        /// `spawnFinished` answers it once the job is up or has failed.
        case spawn(rank: Int, programs: [PMISpawnProgram])
    }

    /// Handles one command from `rank`, received in `wire`'s form, and returns
    /// what to do about it: replies (possibly to other ranks, as when a fence is
    /// released), an abort, a finished local fence or a spawn. It never blocks.
    public mutating func handle(_ command: PMICommand, from rank: Int, wire: PMIWire = .v1) -> [Event] {
        wire == .v2 ? handleV2(command, from: rank) : handleV1(command, from: rank)
    }

    private mutating func handleV1(_ command: PMICommand, from rank: Int) -> [Event] {
        func answer(_ name: String, _ fields: [(String, String)]) -> [Event] {
            [.reply(rank: rank, PMICommand(name, fields))]
        }
        switch command.name {
        case "init":
            // The version the client asks for, when served here (1.1, 1.2, or 2.0 to switch to PMI-2's wire).
            let version = command["pmi_version"] ?? "1"
            let subversion = command["pmi_subversion"] ?? "1"
            switch (version, subversion) {
            case ("1", "1"), ("1", "2"), ("2", "0"):
                return answer("response_to_init", [("pmi_version", version), ("pmi_subversion", subversion), ("rc", "0")])
            default:
                return answer("response_to_init", [
                    ("pmi_version", "1"), ("pmi_subversion", "1"), ("rc", "-1"), ("msg", "PMI_\(version).\(subversion)_is_not_served;_1.1,_1.2_and_2.0_are"),
                ])
            }
        case "get_maxes":
            return answer("maxes", [
                ("kvsname_max", "256"), ("keylen_max", String(limits.keyBytes)),
                ("vallen_max", String(limits.valueBytes)), ("rc", "0"),
            ])
        case "get_appnum":
            let number = applicationNumbers.indices.contains(rank) ? applicationNumbers[rank] : 0
            return answer("appnum", [("appnum", String(number)), ("rc", "0")])
        case "get_universe_size":
            return answer("universe_size", [("size", String(size)), ("rc", "0")])
        case "get_my_kvsname":
            return answer("my_kvsname", [("kvsname", kvsName), ("rc", "0")])
        case "put":
            guard let key = command["key"], let value = command["value"] else {
                return answer("put_result", [("rc", "-1"), ("msg", "put_needs_key_and_value")])
            }
            guard command["kvsname"] == nil || command["kvsname"] == kvsName else {
                return answer("put_result", [("rc", "-1"), ("msg", "unknown_kvsname")])
            }
            if let refused = refusal(key: key, value: value, in: store) {
                // A PMI-1 value holds no spaces.
                return answer("put_result", [("rc", "-1"), ("msg", refused.split(separator: " ").joined(separator: "_"))])
            }
            store[key] = value
            pendingPuts[key] = value
            return answer("put_result", [("rc", "0")])
        case "get":
            guard let key = command["key"] else {
                return answer("get_result", [("rc", "-1"), ("msg", "get_needs_key")])
            }
            guard let value = store[key] else {
                return answer("get_result", [("rc", "-1"), ("msg", "key_\(key)_not_found")])
            }
            return answer("get_result", [("rc", "0"), ("value", value)])
        case "barrier_in":
            return enterFence(rank, .v1, thread: nil)
        case "finalize":
            finalized.insert(rank)
            return answer("finalize_ack", [("rc", "0")])
        case "abort":
            let code = Int(command["exitcode"] ?? "1") ?? 1
            return [.abort(rank: rank, code: code, message: command["msg"] ?? "")]
        case "spawn":
            return spawnProgram(command, from: rank)
        default:
            return answer("\(command.name)_result", [("rc", "-1"), ("msg", "unsupported_command_\(command.name)")])
        }
    }

    /// One program of a rank's spawn; with the last, the spawn goes to the launcher.
    /// The client waits for one answer after its last block, so a refused
    /// block is answered then, not at once (only a block whose place cannot
    /// be read is answered alone: the client's count is unknown).
    private mutating func spawnProgram(_ command: PMICommand, from rank: Int) -> [Event] {
        let place: (index: Int, total: Int)
        do {
            place = try PMISpawnProgram.position(in: command)
        } catch {
            spawning[rank] = nil
            return spawnFinished(rank: rank, error: "\(error)")
        }
        var spawn: (programs: [PMISpawnProgram], refusal: String?) =
            place.index == 0 ? ([], nil) : spawning[rank] ?? ([], "spawn program \(place.index + 1) of \(place.total) came without the first")
        if spawn.refusal == nil {
            if spawn.programs.count != place.index {
                spawn.refusal = "spawn program \(place.index + 1) of \(place.total) came out of order"
            } else {
                do {
                    spawn.programs.append(try PMISpawnProgram(command))
                } catch {
                    spawn.refusal = "\(error)"
                }
            }
        }
        guard place.index == place.total - 1 else {
            spawning[rank] = spawn
            return []
        }
        spawning[rank] = nil
        if let refusal = spawn.refusal { return spawnFinished(rank: rank, error: refusal) }
        return [.spawn(rank: rank, programs: spawn.programs)]
    }

    /// The answer to a rank's spawn: its job is up (nil) or could not start.
    public func spawnFinished(rank: Int, error: String?) -> [Event] {
        guard let error else { return [.reply(rank: rank, PMICommand("spawn_result", [("rc", "0")]))] }
        // A PMI-1 value holds no spaces.
        return [.reply(rank: rank, PMICommand("spawn_result", [("rc", "-1"), ("msg", error.split(whereSeparator: \.isWhitespace).joined(separator: "_"))]))]
    }

    private mutating func handleV2(_ command: PMICommand, from rank: Int) -> [Event] {
        let thread = command["thrid"]
        func answer(_ name: String, _ fields: [(String, String)] = [], rc: Int = 0, error: String? = nil) -> [Event] {
            [Self.v2Reply(to: rank, name, fields + (error.map { [("errmsg", $0)] } ?? []), rc: rc, thread: thread)]
        }
        func found(_ value: String?) -> [(String, String)] {
            value.map { [("found", "TRUE"), ("value", $0)] } ?? [("found", "FALSE")]
        }
        switch command.name {
        case "fullinit":
            if let asked = command["pmirank"], let number = Int(asked), number >= 0, number != rank {
                return answer("fullinit-response", rc: -1, error: "this connection belongs to rank \(rank), not \(number)")
            }
            let number = applicationNumbers.indices.contains(rank) ? applicationNumbers[rank] : 0
            // Slurm's libpmi2 reads pmi-version and pmi-subversion too, and debugged and pmiverbose as booleans
            // (MPICH's description calls pmiverbose an integer, which it reads with atoi: FALSE is 0 to it).
            return answer("fullinit-response", [
                ("pmi-version", "2"), ("pmi-subversion", "0"), ("rank", String(rank)), ("size", String(size)), ("appnum", String(number)),
                ("debugged", "FALSE"), ("pmiverbose", "FALSE"),
            ])
        case "job-getid":
            return answer("job-getid-response", [("jobid", kvsName)])
        case "kvs-put":
            guard let key = command["key"], let value = command["value"] else { return answer("kvs-put-response", rc: -1, error: "kvs-put needs key and value") }
            if let refused = refusal(key: key, value: value, in: store) { return answer("kvs-put-response", rc: -1, error: refused) }
            store[key] = value
            pendingPuts[key] = value
            return answer("kvs-put-response")
        case "kvs-get":
            guard let key = command["key"] else { return answer("kvs-get-response", rc: -1, error: "kvs-get needs a key") }
            if let job = command["jobid"], job != kvsName { return answer("kvs-get-response", rc: -1, error: "unknown job \(job)") }
            return answer("kvs-get-response", found(store[key]))
        case "info-getjobattr":
            guard let key = command["key"] else { return answer("info-getjobattr-response", rc: -1, error: "info-getjobattr needs a key") }
            return answer("info-getjobattr-response", found(store[key]))
        case "info-putnodeattr":
            guard let key = command["key"], let value = command["value"] else {
                return answer("info-putnodeattr-response", rc: -1, error: "info-putnodeattr needs key and value")
            }
            if let refused = refusal(key: key, value: value, in: nodeAttributes) {
                return answer("info-putnodeattr-response", rc: -1, error: refused)
            }
            nodeAttributes[key] = value
            let waiting = nodeAttributeWaiters.filter { $0.key == key }
            nodeAttributeWaiters.removeAll { $0.key == key }
            return answer("info-putnodeattr-response") + waiting.map { waiter in
                Self.v2Reply(to: waiter.rank, "info-getnodeattr-response", found(value), thread: waiter.thread)
            }
        case "info-getnodeattr":
            guard let key = command["key"] else { return answer("info-getnodeattr-response", rc: -1, error: "info-getnodeattr needs a key") }
            if nodeAttributes[key] == nil, command["wait"]?.uppercased() == "TRUE" {
                nodeAttributeWaiters.append((rank, key, thread))
                return []
            }
            return answer("info-getnodeattr-response", found(nodeAttributes[key]))
        case "kvs-fence":
            return enterFence(rank, .v2, thread: thread)
        case "finalize":
            finalized.insert(rank)
            return answer("finalize-response")
        case "abort":
            let code = Int(command["exitcode"] ?? "1") ?? 1
            return [.abort(rank: rank, code: code, message: command["message"] ?? command["msg"] ?? "")]
        default:
            return answer("\(command.name)-response", rc: -1, error: "\(command.name) is not supported by trellis run")
        }
    }

    /// Why a key or value cannot be stored in `table` (nil: it can).
    private func refusal(key: String, value: String, in table: [String: String]) -> String? {
        guard key.utf8.count <= limits.keyBytes, value.utf8.count <= limits.valueBytes else { return "key or value too long" }
        guard table[key] != nil || table.count < limits.entries else { return "too many keys" }
        return nil
    }

    /// A PMI-2 reply: its fields, rc, and the thread id of the request it answers.
    private static func v2Reply(to rank: Int, _ name: String, _ fields: [(String, String)], rc: Int = 0, thread: String?) -> Event {
        .reply(rank: rank, PMICommand(name, fields + [("rc", String(rc))] + (thread.map { [("thrid", $0)] } ?? [])))
    }

    /// A rank enters the fence. When the last of this host's does, the
    /// whole job's service lets every rank go; one host's in a tree reports
    /// `fenceEntered` and waits for `releaseFence`.
    private mutating func enterFence(_ rank: Int, _ wire: PMIWire, thread: String?) -> [Event] {
        inBarrier[rank] = wire
        if let thread { fenceThreads[rank] = thread }
        guard inBarrier.count == (localRankCount ?? size) else { return [] }
        guard localRankCount != nil else { return releaseFence(puts: [:]) }
        let puts = pendingPuts
        pendingPuts.removeAll()
        return [.fenceEntered(puts: puts)]
    }

    /// Every host's ranks are in the fence: their puts become visible here
    /// and this host's ranks are released, each in the wire it entered with.
    public mutating func releaseFence(puts: [String: String]) -> [Event] {
        store.merge(puts) { _, new in new }
        if localRankCount == nil { pendingPuts.removeAll() }
        let released = inBarrier
        let threads = fenceThreads
        inBarrier.removeAll()
        fenceThreads.removeAll()
        return released.keys.sorted().map { rank in
            released[rank] == .v2
                ? Self.v2Reply(to: rank, "kvs-fence-response", [], thread: threads[rank])
                : .reply(rank: rank, PMICommand("barrier_out", [("rc", "0")]))
        }
    }
}
