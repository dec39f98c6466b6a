import Glibc
import Synchronization
import TrellisCore
import TrellisWire
import TrellisSystem

/// A blocking client of the PMI-1 wire protocol, over the descriptor the
/// launcher hands down in `PMI_FD` or at `PMI_PORT`. Used while
/// bootstrapping, to spawn, and at finalize, so blocking calls are fine
/// here; one call at a time. Public for tools that speak to a launcher as
/// one of its ranks would (`trellis bench hostile` checks that the launcher
/// still serves its ranks while strangers send it garbage).
public final class PMIClient: @unchecked Sendable {
    private let fd: Int32
    private var buffered: [UInt8] = []
    /// Spawn answers that a timed-out spawn left on the wire, skipped by the next call.
    private var staleSpawnAnswers = 0
    private let calling = Mutex(())

    init(fd: Int32) { self.fd = fd }

    /// MPICH's port mode (`PMI_PORT` and `PMI_ID`): connects to the PMI
    /// service, says which process this is, and learns its rank and the
    /// job's size from the service's `set` lines.
    public static func connect(port: String, id: String) throws -> (client: PMIClient, rank: Int, size: Int) {
        let address = try IPv4Address.resolve(port)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, IPv4Address.connect(fd, to: address) == 0 else {
            let code = errno
            if fd >= 0 { Glibc.close(fd) }
            throw TrellisError(.bootstrapFailed, "PMI: cannot connect to PMI_PORT \(port)", underlying: SystemCallError("connect", errno: code))
        }
        let client = PMIClient(fd: fd)
        _ = try client.call(PMICommand("initack", [("pmiid", id)]), expecting: "initack")
        var values: [String: Int] = [:]
        for _ in 0..<3 {
            let line = try PMICommand.parse(Substring(client.readLine()))
            guard line.name == "set", let (key, value) = line.fields.first, let number = Int(value) else {
                throw client.failure("expected size, rank and debug after initack, got \(line)")
            }
            values[key] = number
        }
        guard let rank = values["rank"], let size = values["size"], size > 0, (0..<size).contains(rank) else {
            throw client.failure("the service gave no usable rank and size: \(values)")
        }
        return (client, rank, size)
    }

    public func initialize() throws {
        let reply = try call(PMICommand("init", [("pmi_version", "1"), ("pmi_subversion", "1")]), expecting: "response_to_init")
        guard reply["rc"] == "0" else { throw failure("init refused: \(reply)") }
    }

    public func kvsName() throws -> String {
        let reply = try call(PMICommand("get_my_kvsname"), expecting: "my_kvsname")
        guard let name = reply["kvsname"] else { throw failure("no kvsname in \(reply)") }
        return name
    }

    public func put(kvs: String, key: String, value: String) throws {
        let reply = try call(PMICommand("put", [("kvsname", kvs), ("key", key), ("value", value)]), expecting: "put_result")
        guard reply["rc"] == "0" else { throw failure("put \(key) failed: \(reply)") }
    }

    /// The fence: every rank's puts are visible to every rank's gets afterwards.
    public func barrier() throws {
        _ = try call(PMICommand("barrier_in"), expecting: "barrier_out")
    }

    public func get(kvs: String, key: String) throws -> String {
        let reply = try call(PMICommand("get", [("kvsname", kvs), ("key", key)]), expecting: "get_result")
        guard reply["rc"] == "0", let value = reply["value"] else { throw failure("get \(key) failed: \(reply)") }
        return value
    }

    public func finalize() throws {
        _ = try call(PMICommand("finalize"), expecting: "finalize_ack")
        Glibc.close(fd)
    }

    /// Asks the launcher to start a job of `programs` (MPICH's `mcmd=spawn`
    /// blocks) and waits until it is up. Nil when it is; the launcher's
    /// reason when it could not start it, as PMI-1 carries it (`_` for spaces).
    func spawn(_ programs: [PMISpawnProgram], deadline: Deadline) throws -> String? {
        try calling.withLock { _ in
            try write(programs.enumerated().map { $0.element.lines(index: $0.offset, of: programs.count) }.joined())
            let reply: PMICommand
            do {
                reply = try nextReply(deadline: deadline)
            } catch let error as TrellisError where error.code == .timedOut {
                staleSpawnAnswers += 1
                throw error
            }
            guard reply.name == "spawn_result" else { throw failure("sent spawn, got \(reply)") }
            guard reply["rc"] == "0" else { return reply["msg"] ?? "refused" }
            return nil
        }
    }

    private func call(_ command: PMICommand, expecting answer: String) throws -> PMICommand {
        try calling.withLock { _ in
            try write(command.line)
            let reply = try nextReply(deadline: nil)
            guard reply.name == answer else { throw failure("sent \(command.name), got \(reply)") }
            return reply
        }
    }

    private func nextReply(deadline: Deadline?) throws -> PMICommand {
        while true {
            let reply = try PMICommand.parse(Substring(readLine(deadline: deadline)))
            if reply.name == "spawn_result" && staleSpawnAnswers > 0 {
                staleSpawnAnswers -= 1
                continue
            }
            return reply
        }
    }

    private func write(_ line: String) throws {
        guard writeAll(fd, Array(line.utf8)) else {
            throw TrellisError(.bootstrapFailed, "writing to the launcher failed", underlying: SystemCallError("write", errno: errno))
        }
    }

    private func readLine(deadline: Deadline? = nil) throws -> String {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            if let deadline {
                var watched = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&watched, 1, Int32(min(1000, deadline.remainingNanoseconds / 1_000_000)))
                if ready <= 0 {
                    if deadline.hasPassed { throw TrellisError(.timedOut, "PMI: the launcher did not answer before the deadline") }
                    continue
                }
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw failure("the launcher closed the PMI connection") }
            buffered += chunk[..<count]
        }
    }

    private func failure(_ message: String) -> TrellisError {
        TrellisError(.bootstrapFailed, "PMI: \(message)")
    }
}
