import TrellisHosts

/// Hosts' results folded as `clush -b` and `dshbak -c` fold them: hosts
/// whose output and exit code are the same share one block, headed by
/// their node set. Pure.
public struct GatheredOutput: Sendable, Equatable {
    /// Hosts whose command printed the same output and exited with the same code.
    public struct Group: Sendable, Equatable {
        /// The hosts that share this block.
        public var hosts: NodeSet
        /// The output they share, stdout and stderr together.
        public var output: [UInt8]
        /// The exit code they share.
        public var exitCode: Int32
    }

    /// Groups of hosts that ran to an end, largest first (ties: first host's order).
    public let groups: [Group]
    /// The hosts stopped at the timeout.
    public let timedOut: NodeSet
    /// A host that could not be reached or was lost, with why.
    public struct Unreachable: Sendable, Equatable {
        /// The host's name.
        public var host: String
        /// Why, as the launcher reported it.
        public var reason: String
    }

    /// The unreachable hosts, in the order of the results.
    public let unreachable: [Unreachable]
    /// The exit code for the whole command: the highest of the hosts'
    /// `exitCode`s, so a timeout gives at least 124 and an unreachable host 255;
    /// 0 when there are no results.
    public let exitCode: Int32

    /// Folds `results`, given in host order (as `ExecJob.run()` returns them);
    /// that order breaks ties between groups of the same size.
    public init(_ results: [HostResult]) {
        var groups: [Group] = []
        var firstSeen: [Int] = []
        var timedOut: [String] = []
        var unreachable: [Unreachable] = []
        for (index, result) in results.enumerated() {
            switch result.end {
            case .exited(let code):
                if let at = groups.firstIndex(where: { $0.output == result.output && $0.exitCode == code }) {
                    groups[at].hosts = NodeSet(groups[at].hosts.names + [result.host])
                } else {
                    groups.append(Group(hosts: NodeSet([result.host]), output: result.output, exitCode: code))
                    firstSeen.append(index)
                }
            case .timedOut:
                timedOut.append(result.host)
            case .unreachable(let reason):
                unreachable.append(Unreachable(host: result.host, reason: reason))
            }
        }
        let order = groups.indices.sorted { (-groups[$0].hosts.count, firstSeen[$0]) < (-groups[$1].hosts.count, firstSeen[$1]) }
        self.groups = order.map { groups[$0] }
        self.timedOut = NodeSet(timedOut)
        self.unreachable = unreachable
        exitCode = results.map(\.exitCode).max() ?? 0
    }

    /// The blocks, as clush -b prints them: a rule, the node set and its
    /// size (and a non-zero exit code), a rule, the output.
    public func text() -> String {
        var text = ""
        for group in groups {
            let header = "\(group.hosts.folded) (\(group.hosts.count))" + (group.exitCode == 0 ? "" : " exited \(group.exitCode)")
            let rule = String(repeating: "-", count: min(max(header.count, 15), 79))
            text += "\(rule)\n\(header)\n\(rule)\n"
            var body = String(decoding: group.output, as: UTF8.self)
            if !body.isEmpty && !body.hasSuffix("\n") { body += "\n" }
            text += body
        }
        return text
    }

    /// The closing lines (for stderr): timed-out and unreachable hosts, named.
    public func problems(timeoutSeconds: Double?) -> [String] {
        var lines: [String] = []
        if !timedOut.isEmpty {
            let limit = timeoutSeconds.map { " after \(Self.seconds($0))" } ?? ""
            lines.append("timed out\(limit): \(timedOut.folded) (\(timedOut.count))")
        }
        for entry in unreachable { lines.append("unreachable: \(entry.host): \(entry.reason)") }
        return lines
    }

    /// One line for the end: how many hosts, how they ended.
    public func summary(hosts: Int) -> String {
        let succeeded = groups.filter { $0.exitCode == 0 }.reduce(0) { $0 + $1.hosts.count }
        var parts = ["\(succeeded) of \(hosts) host\(hosts == 1 ? "" : "s") exited 0"]
        let failed = groups.filter { $0.exitCode != 0 }
        if !failed.isEmpty {
            let names = NodeSet(failed.flatMap(\.hosts.names))
            parts.append("\(names.count) failed (\(names.folded))")
        }
        if !timedOut.isEmpty { parts.append("\(timedOut.count) timed out") }
        if !unreachable.isEmpty { parts.append("\(unreachable.count) unreachable") }
        return parts.joined(separator: ", ")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
