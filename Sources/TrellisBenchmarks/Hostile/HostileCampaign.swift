import Foundation
import Glibc
import Synchronization
import TrellisCore
import TrellisSystem

/// A listening port under attack: the process behind it, how it frames its
/// input, and an honest request that shows it still serves.
struct HostileTarget: Sendable {
    let name: String
    /// host:port
    let address: String
    let framing: HostileMessage.Framing
    /// For line-framed ports: the longest line the port takes.
    let longestLine: Int
    let pid: pid_t
    /// One honest request, answered (true) or not.
    let serves: @Sendable () -> Bool
}

/// What the campaign saw of one target. A crash is the process gone; a
/// hang is an honest request that did not come back within the campaign's
/// patience; resources are the process's resident memory and open
/// descriptors before the first message and after the last.
struct HostileTargetRecord: BenchmarkRecord {
    var bench = "hostile"
    var target: String
    var messages: Int
    var messagesByKind: [String: Int]
    /// Connections the target ended on its own (end of stream or reset) after the message.
    var closedByTarget: Int
    /// Connections still open when the campaign stopped waiting (seconds), after it had half-closed its side.
    var stillOpen: Int
    /// Connections the target answered with at least one byte (a refusal, a challenge, an error line).
    var answered: Int
    var connectFailures: Int
    var crashes: Int
    var hangs: Int
    var honestRequests: Int
    var honestFailures: Int
    var rssMibBefore: Double
    var rssMibAfter: Double
    var descriptorsBefore: Int
    var descriptorsAfter: Int
}

/// Sends seeded hostile messages at every target in turn, each on a
/// connection of its own, from several threads at once, while an honest
/// client keeps asking every target for service; then reports, per target,
/// what came of it.
struct HostileCampaign {
    let targets: [HostileTarget]
    let messages: Int
    let seed: UInt64
    let concurrency: Int
    /// Seconds a hostile connection may stay open after its message before it counts as still open.
    let patienceSeconds: Double

    private struct Tally {
        var kinds: [String: Int] = [:]
        var closed = 0
        var stillOpen = 0
        var answered = 0
        var connectFailures = 0
        var honestRequests = 0
        var honestFailures = 0
    }

    /// Runs the campaign and blocks until it ends; `progress` gets a line now and then.
    func run(progress: @escaping @Sendable (String) -> Void) -> [HostileTargetRecord] {
        let residentBefore = targets.map { LimitsBenchmark.residentMiB(of: $0.pid) }
        let descriptorsBefore = targets.map { Self.openDescriptors(of: $0.pid) }
        let tallies = Mutex([Tally](repeating: Tally(), count: targets.count))
        let next = Atomic<Int>(0)
        let finished = Atomic<Bool>(false)

        // The honest client: one request to each target in turn, until the campaign ends.
        let honestDone = DispatchSemaphore(value: 0)
        let honestInFlight = Mutex<Int?>(nil)
        startThread(named: "honest client") { [targets] in
            var index = 0
            while !finished.load(ordering: .acquiring) {
                honestInFlight.withLock { $0 = index }
                let served = targets[index].serves()
                honestInFlight.withLock { $0 = nil }
                tallies.withLock { tallies in
                    tallies[index].honestRequests += 1
                    if !served { tallies[index].honestFailures += 1 }
                }
                index = (index + 1) % targets.count
                // Paced like a user's requests: the honest client checks service, it adds no load of its own.
                usleep(20_000)
            }
            honestDone.signal()
        }

        let attackers = DispatchGroup()
        for _ in 0..<concurrency {
            attackers.enter()
            startThread(named: "hostile") { [self] in
                defer { attackers.leave() }
                while true {
                    let number = next.add(1, ordering: .relaxed).oldValue
                    guard number < messages else { return }
                    if number > 0 && number % 10_000 == 0 { progress("\(number) of \(messages) messages sent") }
                    let index = number % targets.count
                    var generator = SeededGenerator(seed: seed &+ UInt64(number))
                    let message = HostileMessage.next(for: targets[index].framing, longestLine: targets[index].longestLine, using: &generator)
                    let outcome = send(message, to: targets[index].address)
                    tallies.withLock { tallies in
                        tallies[index].kinds[message.kind.rawValue, default: 0] += 1
                        switch outcome {
                        case .connectFailed: tallies[index].connectFailures += 1
                        case .closed(let answered):
                            tallies[index].closed += 1
                            if answered { tallies[index].answered += 1 }
                        case .stillOpen(let answered):
                            tallies[index].stillOpen += 1
                            if answered { tallies[index].answered += 1 }
                        }
                    }
                }
            }
        }
        attackers.wait()
        finished.store(true, ordering: .releasing)
        // An honest request that does not come back within a minute is a hang of the target it went to.
        var hung: Int?
        if honestDone.wait(timeout: .now() + 60) == .timedOut { hung = honestInFlight.withLock { $0 } }
        // A last honest request to each, after the last message, and the resources once the dust settles:
        // a port closes the campaign's last connections after the campaign has stopped waiting for them.
        sleep(1)
        let final = tallies.withLock { $0 }
        return targets.indices.map { index in
            let target = targets[index]
            let alive = Self.isAlive(target.pid)
            let lastServed = alive && hung != index && target.serves()
            let tally = final[index]
            return HostileTargetRecord(
                target: target.name, messages: tally.kinds.values.reduce(0, +), messagesByKind: tally.kinds, closedByTarget: tally.closed,
                stillOpen: tally.stillOpen, answered: tally.answered, connectFailures: tally.connectFailures, crashes: alive ? 0 : 1,
                hangs: hung == index ? 1 : 0, honestRequests: tally.honestRequests + 1, honestFailures: tally.honestFailures + (lastServed ? 0 : 1),
                rssMibBefore: rounded(residentBefore[index], 1), rssMibAfter: rounded(LimitsBenchmark.residentMiB(of: target.pid), 1),
                descriptorsBefore: descriptorsBefore[index], descriptorsAfter: Self.openDescriptors(of: target.pid))
        }
    }

    private enum Outcome {
        case connectFailed
        case closed(answered: Bool)
        case stillOpen(answered: Bool)
    }

    /// Connects, writes the message (as much as the target reads before it
    /// closes), half-closes, and reads until the target closes or patience ends.
    private func send(_ message: HostileMessage, to address: String) -> Outcome {
        guard let socketAddress = try? IPv4Address.parse(address) else { return .connectFailed }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .connectFailed }
        defer { close(fd) }
        var timeout = timeval(tv_sec: Int(patienceSeconds), tv_usec: Int((patienceSeconds - Double(Int(patienceSeconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard IPv4Address.connect(fd, to: socketAddress) == 0 else { return .connectFailed }
        var offset = 0
        message.bytes.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let written = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if written <= 0 { break }
                offset += written
            }
        }
        shutdown(fd, Int32(SHUT_WR))
        var answered = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                answered = true
                continue
            }
            if count == 0 || errno == ECONNRESET || errno == EPIPE { return .closed(answered: answered) }
            if errno == EINTR { continue }
            return .stillOpen(answered: answered)
        }
    }

    /// Whether the process runs (a zombie, exited but not yet reaped, does not).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// How many descriptors the process holds open.
    static func openDescriptors(of pid: pid_t) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }
}
