import NIOCore
import TrellisWire

/// What flows along one link of a job's tree. Up (proxy to parent): its
/// subtree's fence entries with their puts, ranks' output line by line,
/// ranks' ends, aborts, lost hosts; down: the plan, fence releases with
/// every put of the job, stdin for rank 0, signals and stop orders.
///
/// On the wire: a 4-byte big-endian length, then a 1-byte kind and the fields.
public enum LinkMessage: Sendable, Equatable {
    // Up.
    /// A proxy's answer to its parent's challenge: its position in the tree,
    /// its nonce, and its proof of the job's key (`LinkHandshake`).
    case hello(position: Int, nonce: [UInt8], proof: [UInt8])
    /// A proxy that Slurm started asks the launcher for its place: it runs
    /// on `host` and listens for its own children on `port`; nonce and proof as in `hello`.
    case join(host: String, port: Int, nonce: [UInt8], proof: [UInt8])
    /// Every rank below has entered the fence; these are their puts since the last one.
    case fenceEnter(puts: [String: String])
    /// Bytes a rank wrote to `stream` 1 (stdout) or 2 (stderr).
    case output(rank: Int, stream: Int, bytes: [UInt8])
    /// `status` as waitpid gives it; `unfinalized`: it exited after PMI init without finalize.
    case rankEnded(rank: Int, pid: Int32, status: Int32, unfinalized: Bool)
    /// A rank asked to abort the job (PMI `abort`), or its proxy could not start
    /// it; the launcher ends the job with `code`.
    case abort(rank: Int, code: Int, message: String)
    /// Hosts whose proxies are gone, and why.
    case lost(hosts: [Int], reason: String)
    /// A line for the launcher's stderr (a bootstrap's complaint, say).
    case notice(String)
    /// Every rank below has ended and its output is drained.
    case done
    /// A rank asks for a new job of these programs (MPI_Comm_spawn), which the launcher starts.
    case spawn(rank: Int, programs: [PMISpawnProgram])
    // Down.
    /// The first message on every link: the parent's nonce, which the child's proof covers.
    case challenge(nonce: [UInt8])
    /// The parent's proof of the job's key; every frame after it is sealed.
    case welcome(proof: [UInt8])
    /// The job's plan, sent to a proxy once it has connected.
    case plan(JobPlan)
    /// Connect to your parent in the tree at this address, as this position.
    case reparent(position: Int, parent: String)
    /// Every rank of the job has entered the fence; these are the puts of the
    /// whole job since the last one, after which the ranks are released.
    case fenceRelease(puts: [String: String])
    /// Bytes of the launcher's stdin, on their way to rank 0.
    case input([UInt8])
    /// The launcher's stdin ended: close rank 0's.
    case inputEnd
    /// Pass a signal to every rank.
    case signal(Int32)
    /// Stop every rank: this signal now, SIGKILL after the plan's grace.
    case stop(Int32)
    /// Kill every rank now (SIGKILL), without waiting for the grace period.
    case kill
    /// The answer to a rank's spawn: its job is up (error empty) or why it is not.
    case spawnResult(rank: Int, error: String)
    // Both ways.
    /// Sent on a link that has been quiet for a quarter of its timeout, so that
    /// only a link whose other end is gone goes silent.
    case heartbeat
    /// Several messages in one frame: what a node gathered in one turn of its loop.
    indirect case batch([LinkMessage])

    /// Frames larger than this are refused: a corrupt length cannot make a node allocate without bound.
    public static let maximumFrameBytes = 256 << 20
    /// The largest frame of a link's handshake: what a peer that has proven nothing may make a node hold.
    public static let maximumHandshakeFrameBytes = 4096

    private enum Kind: UInt8 {
        case hello = 1, fenceEnter, output, rankEnded, abort, lost, notice, done, join, spawn
        case plan = 20, fenceRelease, input, inputEnd, signal, stop, kill, reparent, spawnResult, challenge, welcome
        case heartbeat = 40, batch
    }

    /// The message as one frame: its length, kind and fields, ready to write.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeInteger(UInt32(0))
        switch self {
        case .hello(let position, let nonce, let proof):
            buffer.writeInteger(Kind.hello.rawValue)
            buffer.writeInteger(Int64(position))
            buffer.writeCountedBytes(nonce)
            buffer.writeCountedBytes(proof)
        case .join(let host, let port, let nonce, let proof):
            buffer.writeInteger(Kind.join.rawValue)
            buffer.writeText(host)
            buffer.writeInteger(Int64(port))
            buffer.writeCountedBytes(nonce)
            buffer.writeCountedBytes(proof)
        case .challenge(let nonce):
            buffer.writeInteger(Kind.challenge.rawValue)
            buffer.writeCountedBytes(nonce)
        case .welcome(let proof):
            buffer.writeInteger(Kind.welcome.rawValue)
            buffer.writeCountedBytes(proof)
        case .reparent(let position, let parent):
            buffer.writeInteger(Kind.reparent.rawValue)
            buffer.writeInteger(Int64(position))
            buffer.writeText(parent)
        case .fenceEnter(let puts):
            buffer.writeInteger(Kind.fenceEnter.rawValue)
            buffer.writePairs(puts)
        case .output(let rank, let stream, let bytes):
            buffer.writeInteger(Kind.output.rawValue)
            buffer.writeInteger(Int64(rank))
            buffer.writeInteger(UInt8(truncatingIfNeeded: stream))
            buffer.writeCountedBytes(bytes)
        case .rankEnded(let rank, let pid, let status, let unfinalized):
            buffer.writeInteger(Kind.rankEnded.rawValue)
            buffer.writeInteger(Int64(rank))
            buffer.writeInteger(pid)
            buffer.writeInteger(status)
            buffer.writeInteger(UInt8(unfinalized ? 1 : 0))
        case .abort(let rank, let code, let message):
            buffer.writeInteger(Kind.abort.rawValue)
            buffer.writeInteger(Int64(rank))
            buffer.writeInteger(Int64(code))
            buffer.writeText(message)
        case .lost(let hosts, let reason):
            buffer.writeInteger(Kind.lost.rawValue)
            buffer.writeIntegers(hosts)
            buffer.writeText(reason)
        case .notice(let text):
            buffer.writeInteger(Kind.notice.rawValue)
            buffer.writeText(text)
        case .done:
            buffer.writeInteger(Kind.done.rawValue)
        case .spawn(let rank, let programs):
            buffer.writeInteger(Kind.spawn.rawValue)
            buffer.writeInteger(Int64(rank))
            buffer.writeInteger(UInt32(programs.count))
            for program in programs {
                buffer.writeInteger(Int64(program.count))
                buffer.writeTexts(program.command)
                buffer.writeTexts(program.preput.flatMap { [$0.key, $0.value] })
                buffer.writeTexts(program.info.flatMap { [$0.key, $0.value] })
            }
        case .spawnResult(let rank, let error):
            buffer.writeInteger(Kind.spawnResult.rawValue)
            buffer.writeInteger(Int64(rank))
            buffer.writeText(error)
        case .plan(let plan):
            buffer.writeInteger(Kind.plan.rawValue)
            buffer.writePlan(plan)
        case .fenceRelease(let puts):
            buffer.writeInteger(Kind.fenceRelease.rawValue)
            buffer.writePairs(puts)
        case .input(let bytes):
            buffer.writeInteger(Kind.input.rawValue)
            buffer.writeCountedBytes(bytes)
        case .inputEnd:
            buffer.writeInteger(Kind.inputEnd.rawValue)
        case .signal(let number):
            buffer.writeInteger(Kind.signal.rawValue)
            buffer.writeInteger(number)
        case .stop(let number):
            buffer.writeInteger(Kind.stop.rawValue)
            buffer.writeInteger(number)
        case .kill:
            buffer.writeInteger(Kind.kill.rawValue)
        case .heartbeat:
            buffer.writeInteger(Kind.heartbeat.rawValue)
        case .batch(let messages):
            buffer.writeInteger(Kind.batch.rawValue)
            buffer.writeInteger(UInt32(messages.count))
            for message in messages {
                var inner = message.encoded()
                buffer.writeBuffer(&inner)
            }
        }
        buffer.setInteger(UInt32(buffer.writerIndex - 4), at: 0)
        return buffer
    }

    /// Takes one whole message off the front of `buffer`; nil if it holds
    /// only part of one. Throws when the bytes cannot be a message.
    /// `maximumBytes`: the longest frame taken.
    public static func decode(from buffer: inout ByteBuffer, maximumBytes: Int = maximumFrameBytes) throws -> LinkMessage? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= 1, Int(length) <= maximumBytes else { throw LinkError("a frame of \(length) bytes") }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return try decode(body: buffer.readSlice(length: Int(length))!)
    }

    /// The message a frame's whole body (its kind and fields) holds.
    static func decode(body: ByteBuffer) throws -> LinkMessage {
        var body = body
        let message = try decodeBody(&body)
        guard body.readableBytes == 0 else { throw LinkError("\(body.readableBytes) bytes after a \(message.name) message") }
        return message
    }

    /// Whether the message belongs to a link's handshake, after which the frames may be sealed.
    var isHandshake: Bool {
        switch self {
        case .challenge, .hello, .join, .welcome: true
        default: false
        }
    }

    private static func decodeBody(_ body: inout ByteBuffer) throws -> LinkMessage {
        guard let raw = body.readInteger(as: UInt8.self), let kind = Kind(rawValue: raw) else { throw LinkError("an unknown message kind") }
        switch kind {
        case .hello: return .hello(position: try body.readInt(), nonce: try body.readCountedBytes(), proof: try body.readCountedBytes())
        case .join: return .join(host: try body.readText(), port: try body.readInt(), nonce: try body.readCountedBytes(), proof: try body.readCountedBytes())
        case .challenge: return .challenge(nonce: try body.readCountedBytes())
        case .welcome: return .welcome(proof: try body.readCountedBytes())
        case .reparent: return .reparent(position: try body.readInt(), parent: try body.readText())
        case .fenceEnter: return .fenceEnter(puts: try body.readPairs())
        case .output:
            let rank = try body.readInt()
            let stream = Int(try body.readFixed(UInt8.self))
            return .output(rank: rank, stream: stream, bytes: try body.readCountedBytes())
        case .rankEnded:
            return .rankEnded(
                rank: try body.readInt(), pid: try body.readFixed(Int32.self), status: try body.readFixed(Int32.self),
                unfinalized: try body.readFixed(UInt8.self) != 0)
        case .abort: return .abort(rank: try body.readInt(), code: try body.readInt(), message: try body.readText())
        case .lost: return .lost(hosts: try body.readIntegers(), reason: try body.readText())
        case .notice: return .notice(try body.readText())
        case .done: return .done
        case .spawn:
            let rank = try body.readInt()
            let programs = try (0..<body.readCount(each: 20)).map { _ in
                PMISpawnProgram(count: try body.readInt(), command: try body.readTexts(), preput: try body.readKeyValues(), info: try body.readKeyValues())
            }
            return .spawn(rank: rank, programs: programs)
        case .spawnResult: return .spawnResult(rank: try body.readInt(), error: try body.readText())
        case .plan: return .plan(try body.readPlan())
        case .fenceRelease: return .fenceRelease(puts: try body.readPairs())
        case .input: return .input(try body.readCountedBytes())
        case .inputEnd: return .inputEnd
        case .signal: return .signal(try body.readFixed(Int32.self))
        case .stop: return .stop(try body.readFixed(Int32.self))
        case .kill: return .kill
        case .heartbeat: return .heartbeat
        case .batch:
            var messages: [LinkMessage] = []
            for _ in 0..<(try body.readCount(each: 5)) {
                guard let message = try decode(from: &body) else { throw LinkError("a batch cut short") }
                if case .batch = message { throw LinkError("a batch inside a batch") }
                messages.append(message)
            }
            return .batch(messages)
        }
    }

    var name: String {
        switch self {
        case .hello: "hello"
        case .join: "join"
        case .challenge: "challenge"
        case .welcome: "welcome"
        case .reparent: "reparent"
        case .fenceEnter: "fence-enter"
        case .output: "output"
        case .rankEnded: "rank-ended"
        case .abort: "abort"
        case .lost: "lost"
        case .notice: "notice"
        case .done: "done"
        case .spawn: "spawn"
        case .spawnResult: "spawn-result"
        case .plan: "plan"
        case .fenceRelease: "fence-release"
        case .input: "input"
        case .inputEnd: "input-end"
        case .signal: "signal"
        case .stop: "stop"
        case .kill: "kill"
        case .heartbeat: "heartbeat"
        case .batch: "batch"
        }
    }
}

/// Bytes on a link that cannot be a message: the link is dropped.
public struct LinkError: Error, CustomStringConvertible {
    /// What is wrong with the bytes, prefixed with "malformed link message: ".
    public let description: String
    init(_ what: String) { description = "malformed link message: \(what)" }
}

extension ByteBuffer {
    fileprivate mutating func writeCountedBytes(_ bytes: [UInt8]) {
        writeInteger(UInt32(bytes.count))
        writeBytes(bytes)
    }

    fileprivate mutating func writeText(_ text: String) {
        writeInteger(UInt32(text.utf8.count))
        writeString(text)
    }

    fileprivate mutating func writeTexts(_ texts: [String]) {
        writeInteger(UInt32(texts.count))
        texts.forEach { writeText($0) }
    }

    fileprivate mutating func writeIntegers(_ values: [Int]) {
        writeInteger(UInt32(values.count))
        values.forEach { writeInteger(Int64($0)) }
    }

    fileprivate mutating func writePairs(_ pairs: [String: String]) {
        writeInteger(UInt32(pairs.count))
        for (key, value) in pairs.sorted(by: { $0.key < $1.key }) {
            writeText(key)
            writeText(value)
        }
    }

    fileprivate mutating func writePlan(_ plan: JobPlan) {
        writeText(plan.kvsName)
        writeInteger(UInt32(plan.applications.count))
        for application in plan.applications {
            writeInteger(Int64(application.count))
            writeTexts(application.program)
        }
        writeTexts(plan.hosts)
        writeIntegers(plan.hostOfRank)
        writeText(plan.processMapping)
        writePairs(plan.environment)
        writeText(plan.workingDirectory)
        writeInteger(plan.graceSeconds.bitPattern)
        writeInteger(Int64(plan.tree.fanout))
        writeInteger(Int64(plan.tree.launcherHost ?? -1))
        writeText(plan.bootstrap.kind.rawValue)
        writeTexts(plan.bootstrap.sshCommand)
        writeText(plan.bootstrap.trellisPath)
        writeText(plan.bootstrap.proxyPath ?? "")
        writeTexts(plan.bootstrap.agentPorts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" })
        writeInteger(plan.linkTimeoutSeconds.bitPattern)
        writeInteger(UInt8(plan.pmiPort ? 1 : 0))
        writePairs(plan.storeEntries)
    }

    fileprivate mutating func readFixed<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard let value = readInteger(as: T.self) else { throw LinkError("a field cut short") }
        return value
    }

    fileprivate mutating func readInt() throws -> Int {
        let value = try readFixed(Int64.self)
        guard value >= Int64(Int32.min), value <= Int64(Int32.max) else { throw LinkError("a number out of range (\(value))") }
        return Int(value)
    }

    /// A count that the remaining bytes can hold at `each` bytes per item.
    fileprivate mutating func readCount(each: Int) throws -> Int {
        let count = Int(try readFixed(UInt32.self))
        guard count * each <= readableBytes else { throw LinkError("a count of \(count) beyond the frame") }
        return count
    }

    fileprivate mutating func readText() throws -> String {
        let length = try readCount(each: 1)
        return readString(length: length)!
    }

    fileprivate mutating func readTexts() throws -> [String] {
        try (0..<readCount(each: 4)).map { _ in try readText() }
    }

    fileprivate mutating func readIntegers() throws -> [Int] {
        try (0..<readCount(each: 8)).map { _ in try readInt() }
    }

    fileprivate mutating func readCountedBytes() throws -> [UInt8] {
        let length = try readCount(each: 1)
        return readBytes(length: length)!
    }

    /// Keys and values written one after the other (order kept, keys may repeat).
    fileprivate mutating func readKeyValues() throws -> [PMIKeyValue] {
        let texts = try readTexts()
        guard texts.count % 2 == 0 else { throw LinkError("a key without its value") }
        return stride(from: 0, to: texts.count, by: 2).map { PMIKeyValue(texts[$0], texts[$0 + 1]) }
    }

    fileprivate mutating func readPairs() throws -> [String: String] {
        var pairs: [String: String] = [:]
        for _ in 0..<(try readCount(each: 8)) { pairs[try readText()] = try readText() }
        return pairs
    }

    fileprivate mutating func readPlan() throws -> JobPlan {
        let kvsName = try readText()
        let applications = try (0..<readCount(each: 12)).map { _ in LaunchApplication(count: try readInt(), program: try readTexts()) }
        let hosts = try readTexts()
        let hostOfRank = try readIntegers()
        guard hostOfRank.allSatisfy({ hosts.indices.contains($0) }) else { throw LinkError("a rank on a host not in the plan") }
        guard applications.reduce(0, { $0 + $1.count }) == hostOfRank.count, !applications.isEmpty else {
            throw LinkError("applications that do not cover the ranks")
        }
        let processMapping = try readText()
        let environment = try readPairs()
        let workingDirectory = try readText()
        let grace = Double(bitPattern: try readFixed(UInt64.self))
        let fanout = try readInt()
        let launcherHost = try readInt()
        guard let kind = ProxyBootstrap.Kind(rawValue: try readText()) else { throw LinkError("an unknown bootstrap") }
        let sshCommand = try readTexts()
        let trellisPath = try readText()
        let proxyPath = try readText()
        var agentPorts: [String: Int] = [:]
        for entry in try readTexts() {
            let words = entry.split(separator: " ")
            guard words.count == 2, let port = Int(words[1]) else { throw LinkError("a malformed agent port") }
            agentPorts[String(words[0])] = port
        }
        let linkTimeout = Double(bitPattern: try readFixed(UInt64.self))
        let pmiPort = try readFixed(UInt8.self) != 0
        let storeEntries = try readPairs()
        var plan = JobPlan(
            kvsName: kvsName, applications: applications, hosts: hosts, hostOfRank: hostOfRank,
            processMapping: processMapping, environment: environment, workingDirectory: workingDirectory, graceSeconds: grace,
            tree: TreeShape(hostCount: hosts.count, fanout: fanout, launcherHost: launcherHost >= 0 ? launcherHost : nil),
            bootstrap: ProxyBootstrap(kind: kind, sshCommand: sshCommand, trellisPath: trellisPath, proxyPath: proxyPath.isEmpty ? nil : proxyPath, agentPorts: agentPorts),
            linkTimeoutSeconds: linkTimeout)
        plan.pmiPort = pmiPort
        plan.storeEntries = storeEntries
        return plan
    }
}
