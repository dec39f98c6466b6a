import Glibc

/// The launcher's account of a job's end: which ranks ended how, which
/// hosts were lost, whether the job must stop, the exit code for the shell
/// (the highest of the ranks' failures, 128 + signal for a killed rank),
/// and the report `--report` prints. Pure: the node feeds it what it learns
/// and does what it answers.
struct JobLedger {
    struct End {
        var pid: Int32
        var status: Int32
        var unfinalized: Bool
    }

    let hosts: [String]
    let hostOfRank: [Int]
    let keepGoing: Bool
    /// Name the host in messages (a job over hosts).
    let namesHosts: Bool
    private(set) var ends: [Int: End] = [:]
    private(set) var lostHosts: [Int: String] = [:]
    private(set) var exitCode: Int32 = 0
    /// Set once the job is being stopped, with the signal that stops it.
    private(set) var stopSignal: Int32?
    private(set) var killing = false

    init(hosts: [String], hostOfRank: [Int], keepGoing: Bool, namesHosts: Bool) {
        self.hosts = hosts
        self.hostOfRank = hostOfRank
        self.keepGoing = keepGoing
        self.namesHosts = namesHosts
    }

    /// What to do after learning something.
    struct Verdict: Equatable {
        var messages: [String] = []
        /// Stop the job with this signal.
        var stop: Int32?
    }

    mutating func stopping(with signal: Int32) { stopSignal = stopSignal ?? signal }
    mutating func killingNow() { killing = true }

    /// Ranks ended (reaped on their hosts).
    mutating func ranksEnded(_ ended: [(rank: Int, end: End)]) -> Verdict {
        for (rank, end) in ended { ends[rank] = end }
        var verdict = Verdict()
        if let stopSignal {
            // Once stopping, report only deaths the stop did not cause: a
            // killed rank's peers can notice and exit before the killed rank itself is reported.
            for (rank, end) in ended {
                let signal = end.status & 0x7f
                if signal != 0 && signal != stopSignal && !(signal == SIGKILL && killing) {
                    verdict.messages.append("rank \(rank) (\(whereIs(rank, pid: end.pid))) \(RankProcess.describe(status: end.status))")
                }
            }
            return verdict
        }
        // Ranks that lose a peer fail soon after it; a rank killed by a signal
        // is the likelier cause, so it is named first.
        let failed = ended.filter { $0.end.status != 0 || $0.end.unfinalized }.sorted {
            ($0.end.status & 0x7f != 0 ? 0 : 1, $0.rank) < ($1.end.status & 0x7f != 0 ? 0 : 1, $1.rank)
        }
        guard let first = failed.first else { return verdict }
        let consequence = keepGoing ? "; the other ranks go on (--keep-going)" : "; stopping the other ranks"
        for (rank, end) in failed {
            let how = end.status == 0 ? "exited without finalizing" : RankProcess.describe(status: end.status)
            verdict.messages.append("rank \(rank) (\(whereIs(rank, pid: end.pid))) \(how)\(rank == first.rank ? consequence : "")")
            exitCode = max(exitCode, end.status == 0 ? 1 : RankProcess.shellCode(status: end.status))
        }
        if !keepGoing { verdict.stop = SIGTERM }
        return verdict
    }

    /// A rank asked to abort the job.
    mutating func aborted(rank: Int, code: Int, message: String) -> Verdict {
        let text = "rank \(rank) aborted the job (code \(code))\(message.isEmpty ? "" : ": \(message)")"
        guard stopSignal == nil else { return Verdict(messages: [text]) }
        let shell = Int32(truncatingIfNeeded: code) & 0xff
        exitCode = max(exitCode, shell == 0 ? 1 : shell)
        return Verdict(messages: [text], stop: SIGTERM)
    }

    /// Hosts whose proxies are gone: their ranks count as failed.
    mutating func hostsLost(_ lost: [Int], reason: String) -> Verdict {
        let fresh = lost.filter { lostHosts[$0] == nil }
        guard !fresh.isEmpty else { return Verdict() }
        for host in fresh { lostHosts[host] = reason }
        let ranks = hostOfRank.indices.filter { fresh.contains(hostOfRank[$0]) && ends[$0] == nil }
        let names = fresh.map { hosts[$0] }.joined(separator: ", ")
        let what = ranks.isEmpty ? "" : " with rank\(ranks.count == 1 ? "" : "s") \(Self.ranges(ranks))"
        guard stopSignal == nil else {
            return Verdict(messages: ["lost host\(fresh.count == 1 ? "" : "s") \(names)\(what): \(reason)"])
        }
        exitCode = max(exitCode, 255)
        let consequence = keepGoing ? "; the other hosts go on (--keep-going)" : "; stopping the job on every host"
        return Verdict(messages: ["lost host\(fresh.count == 1 ? "" : "s") \(names)\(what): \(reason)\(consequence)"], stop: keepGoing ? nil : SIGTERM)
    }

    /// The user interrupted the launcher with a signal.
    mutating func interrupted(by signal: Int32) -> Verdict {
        guard stopSignal == nil else { return Verdict() }
        exitCode = max(exitCode, 128 + signal)
        return Verdict(stop: signal)
    }

    /// A rank could not be started, or a proxy failed before its ranks ran.
    mutating func failedToStart(_ message: String) -> Verdict {
        guard stopSignal == nil else { return Verdict(messages: [message]) }
        exitCode = max(exitCode, 1)
        return Verdict(messages: [message], stop: SIGTERM)
    }

    private func whereIs(_ rank: Int, pid: Int32) -> String {
        namesHosts && hostOfRank.indices.contains(rank) ? "pid \(pid) on \(hosts[hostOfRank[rank]])" : "pid \(pid)"
    }

    /// Each host's line: its ranks grouped by how they ended.
    func report() -> [String] {
        hosts.indices.map { host in
            let ranks = hostOfRank.indices.filter { hostOfRank[$0] == host }
            var groups: [(String, [Int])] = []
            for rank in ranks {
                let how: String
                if let end = ends[rank] {
                    how = end.status == 0 && end.unfinalized ? "exited 0 without finalizing" : describeShort(end.status)
                } else if let reason = lostHosts[host] {
                    how = "lost with the host (\(reason))"
                } else {
                    how = "not reported"
                }
                if let index = groups.firstIndex(where: { $0.0 == how }) { groups[index].1.append(rank) } else { groups.append((how, [rank])) }
            }
            let body = groups.map { "rank\($0.1.count == 1 ? "" : "s") \(Self.ranges($0.1)) \($0.0)" }.joined(separator: "; ")
            return "\(hosts[host]): \(ranks.isEmpty ? "no ranks" : body)"
        }
    }

    private func describeShort(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exited \((status >> 8) & 0xff)" : "killed by \(signalName(signal))"
    }

    /// "0-3,5,7-8".
    static func ranges(_ ranks: [Int]) -> String {
        var parts: [String] = []
        var index = 0
        let sorted = ranks.sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}
