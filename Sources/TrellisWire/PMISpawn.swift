/// One program of a PMI-1 spawn (MPI_Comm_spawn, or one of the programs of
/// MPI_Comm_spawn_multiple), in the multi-line form MPICH's simple PMI
/// writes: `mcmd=spawn`, then one `key=value` per line, then `endcmd`.
///
/// ```
/// mcmd=spawn
/// nprocs=4
/// execname=./worker
/// totspawns=1
/// spawnssofar=1
/// argcnt=1
/// arg1=--size 10
/// preput_num=1
/// preput_key_0=PARENT_ROOT_PORT_NAME
/// preput_val_0=...
/// info_num=0
/// endcmd
/// ```
/// One line per field lets a value hold spaces (arguments do); the service
/// answers the last program of a spawn with one `cmd=spawn_result rc=0`.
public struct PMISpawnProgram: Sendable, Equatable {
    /// How many processes of this program to start (`nprocs`), at least 1.
    public var count: Int
    /// The program and its arguments.
    public var command: [String]
    /// Keys the launcher puts in the children's key-value space before they start.
    public var preput: [PMIKeyValue]
    /// MPI_Info hints for this program (`host`, `wdir`, `env`, ...).
    public var info: [PMIKeyValue]

    /// Describes a program to spawn: how many processes, the command line, the
    /// keys to put before they start and the info hints.
    public init(count: Int, command: [String], preput: [PMIKeyValue] = [], info: [PMIKeyValue] = []) {
        self.count = count
        self.command = command
        self.preput = preput
        self.info = info
    }

    /// The wire form of program `index` (from 0) of `total`, `endcmd` included.
    public func lines(index: Int, of total: Int) -> String {
        var lines = ["mcmd=spawn", "nprocs=\(count)", "execname=\(command.first ?? "")", "totspawns=\(total)", "spawnssofar=\(index + 1)"]
        lines.append("argcnt=\(command.count - 1)")
        for (number, argument) in command.dropFirst().enumerated() { lines.append("arg\(number + 1)=\(argument)") }
        lines.append("preput_num=\(preput.count)")
        for (number, entry) in preput.enumerated() { lines += ["preput_key_\(number)=\(entry.key)", "preput_val_\(number)=\(entry.value)"] }
        lines.append("info_num=\(info.count)")
        for (number, entry) in info.enumerated() { lines += ["info_key_\(number)=\(entry.key)", "info_val_\(number)=\(entry.value)"] }
        lines.append("endcmd")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads one program back from a `spawn` command (a framed `mcmd=spawn`
    /// block), with its place among the spawn's programs.
    public init(_ block: PMICommand) throws {
        let fields = Dictionary(block.fields.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        // A count says how many keys follow, so it can be no more than the keys there are.
        func number(_ key: String) throws -> Int {
            guard let text = fields[key], let value = Int(text), value >= 0, value <= fields.count else {
                throw PMIProtocolError("spawn needs a number of at most \(fields.count) in \(key)")
            }
            return value
        }
        func value(_ key: String) throws -> String {
            guard let text = fields[key] else { throw PMIProtocolError("spawn lacks \(key)") }
            return text
        }
        guard let text = fields["nprocs"], let count = Int(text), (1...Self.maximumCount).contains(count) else {
            throw PMIProtocolError("spawn asks for \(fields["nprocs"] ?? "no number of") processes (1 to \(Self.maximumCount))")
        }
        self.count = count
        let program = try value("execname")
        guard !program.isEmpty else { throw PMIProtocolError("spawn names no program") }
        let arguments = try (0..<number("argcnt")).map { try value("arg\($0 + 1)") }
        command = [program] + arguments
        preput = try (0..<number("preput_num")).map { try PMIKeyValue(value("preput_key_\($0)"), value("preput_val_\($0)")) }
        info = try (0..<number("info_num")).map { try PMIKeyValue(value("info_key_\($0)"), value("info_val_\($0)")) }
    }

    /// This program's place in its spawn: (index from 0, total), from `spawnssofar` and `totspawns`.
    public static func position(in command: PMICommand) throws -> (index: Int, total: Int) {
        guard let total = command["totspawns"].flatMap(Int.init), let sofar = command["spawnssofar"].flatMap(Int.init),
            (1...maximumPrograms).contains(total), (1...total).contains(sofar)
        else { throw PMIProtocolError("spawn needs totspawns (1 to \(maximumPrograms)) and spawnssofar, with 1 <= spawnssofar <= totspawns") }
        return (sofar - 1, total)
    }

    /// Bounds a rank cannot make the launcher exceed.
    public static let maximumPrograms = 1024
    /// The most processes one program of a spawn may ask for (`nprocs`).
    public static let maximumCount = 1 << 20

    /// Values cannot hold a newline: each field is one line on the wire.
    public var isWritable: Bool {
        (command + preput.flatMap { [$0.key, $0.value] } + info.flatMap { [$0.key, $0.value] }).allSatisfy { !$0.contains("\n") }
    }

    /// The values of info key `key`, in order (`env` may be given many times).
    public func infoValues(_ key: String) -> [String] {
        info.filter { $0.key == key }.map(\.value)
    }
}

/// One key and its value, as a spawn's `preput` entries and info hints carry them.
public struct PMIKeyValue: Sendable, Equatable {
    /// The key, such as `PARENT_ROOT_PORT_NAME` or the info key `wdir`.
    public var key: String
    /// The key's value; it may hold spaces but, on the wire, no newline.
    public var value: String

    /// Pairs a key with its value.
    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}
