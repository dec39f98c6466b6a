import TrellisWire

/// The launcher's key-value service as a pure state machine speaking PMI-1:
/// put, fence (`barrier_in` / `barrier_out`), get, plus the bookkeeping
/// commands MPICH's simple PMI client sends. Feed it one command from one
/// rank; it answers with the replies to write, possibly to several ranks.
public struct PMIServerState: Sendable {
    public let size: Int
    public let kvsName: String
    private(set) var store: [String: String] = [:]
    private var inBarrier = Set<Int>()
    public private(set) var finalized = Set<Int>()

    public struct Limits: Sendable {
        public var keyBytes = 256
        public var valueBytes = 1024
        public var entries = 1_000_000
    }
    public var limits = Limits()

    /// Each rank's application number (MPMD jobs); all 0 by default.
    public let applicationNumbers: [Int]

    public init(size: Int, kvsName: String, applicationNumbers: [Int]? = nil) {
        self.size = size
        self.kvsName = kvsName
        self.applicationNumbers = applicationNumbers ?? Array(repeating: 0, count: size)
        // MPICH reads this to learn which ranks share a node: here, all of them.
        store["PMI_process_mapping"] = "(vector,(0,1,\(size)))"
    }

    public enum Event: Equatable, Sendable {
        case reply(rank: Int, PMICommand)
        /// The rank asked to abort the whole job.
        case abort(rank: Int, code: Int, message: String)
    }

    public mutating func handle(_ command: PMICommand, from rank: Int) -> [Event] {
        func answer(_ name: String, _ fields: [(String, String)]) -> [Event] {
            [.reply(rank: rank, PMICommand(name, fields))]
        }
        switch command.name {
        case "init":
            return answer("response_to_init", [("pmi_version", "1"), ("pmi_subversion", "1"), ("rc", "0")])
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
            guard key.utf8.count <= limits.keyBytes, value.utf8.count <= limits.valueBytes else {
                return answer("put_result", [("rc", "-1"), ("msg", "key_or_value_too_long")])
            }
            guard store[key] != nil || store.count < limits.entries else {
                return answer("put_result", [("rc", "-1"), ("msg", "too_many_keys")])
            }
            store[key] = value
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
            inBarrier.insert(rank)
            guard inBarrier.count == size else { return [] }
            inBarrier.removeAll()
            return (0..<size).map { .reply(rank: $0, PMICommand("barrier_out", [("rc", "0")])) }
        case "finalize":
            finalized.insert(rank)
            return answer("finalize_ack", [("rc", "0")])
        case "abort":
            let code = Int(command["exitcode"] ?? "1") ?? 1
            return [.abort(rank: rank, code: code, message: command["msg"] ?? "")]
        default:
            return answer("\(command.name)_result", [("rc", "-1"), ("msg", "unsupported_command_\(command.name)")])
        }
    }

}
