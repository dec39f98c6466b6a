/// Where each rank of a job runs: the host of every rank, from a host
/// list, as Hydra places them.
///
/// - `bySlot` (the default): each host's slots are filled in list order,
///   then the next host's; past the last host, around again.
/// - `byNode`: one rank per host in turn, round robin.
///
/// `ranksPerHost` (`--ppn`) gives every host that many slots, whatever the
/// list says; a host whose slots the list leaves open has 1.
public struct Placement: Sendable, Hashable {
    /// How ranks are spread over the hosts, as `--map-by` names it (`slot` or `node`).
    public enum Order: String, Sendable, CaseIterable {
        /// Fill each host's slots before moving on to the next host.
        case bySlot = "slot"
        /// One rank per host in turn, while the host has slots left in this pass.
        case byNode = "node"
    }

    /// The host names in list order; `hostOfRank` holds indices into it.
    public let hosts: [String]
    /// The index in `hosts` of each rank's host.
    public let hostOfRank: [Int]

    /// Places `ranks` ranks on the hosts of `list`, going around the list again
    /// when there are more ranks than slots. Throws `HostListError` when
    /// `ranks` or `ranksPerHost` is less than 1.
    public init(ranks: Int, on list: HostList, ranksPerHost: Int? = nil, order: Order = .bySlot) throws {
        guard ranks >= 1 else { throw HostListError("a job has at least 1 rank, not \(ranks)") }
        if let ranksPerHost, ranksPerHost < 1 { throw HostListError("--ppn takes 1 or more, not \(ranksPerHost)") }
        hosts = list.names
        let slots = list.hosts.map { ranksPerHost ?? $0.slots ?? 1 }
        var placed: [Int] = []
        placed.reserveCapacity(ranks)
        switch order {
        case .bySlot:
            while placed.count < ranks {
                for (host, count) in slots.enumerated() {
                    placed += repeatElement(host, count: min(count, ranks - placed.count))
                }
            }
        case .byNode:
            // Round robin over hosts, each taking a rank while it has slots left in this pass.
            var left = slots
            while placed.count < ranks {
                if left.allSatisfy({ $0 == 0 }) { left = slots }
                for host in slots.indices where left[host] > 0 && placed.count < ranks {
                    placed.append(host)
                    left[host] -= 1
                }
            }
        }
        hostOfRank = placed
    }

    /// The ranks each host runs, in rank order.
    public var ranksOfHost: [[Int]] {
        var result = Array(repeating: [Int](), count: hosts.count)
        for (rank, host) in hostOfRank.enumerated() { result[host].append(rank) }
        return result
    }

    /// MPICH's `PMI_process_mapping` for this placement:
    /// `(vector,(first host,hosts,ranks per host),...)`, blocks of
    /// consecutive ranks that fill consecutive hosts evenly, so MPICH knows
    /// which ranks share a host.
    public var processMapping: String {
        // Runs of consecutive ranks on one host...
        var runs: [(host: Int, length: Int)] = []
        for host in hostOfRank {
            if let last = runs.last, last.host == host { runs[runs.count - 1].length += 1 } else { runs.append((host, 1)) }
        }
        // ...joined while the next run is as long and on the next host.
        var blocks: [(first: Int, count: Int, perHost: Int)] = []
        for run in runs {
            if let last = blocks.last, last.perHost == run.length, last.first + last.count == run.host {
                blocks[blocks.count - 1].count += 1
            } else {
                blocks.append((run.host, 1, run.length))
            }
        }
        return "(vector," + blocks.map { "(\($0.first),\($0.count),\($0.perHost))" }.joined(separator: ",") + ")"
    }

    /// Reads a `PMI_process_mapping` back into each rank's host (what MPICH does with it).
    public static func hostOfRank(fromProcessMapping mapping: String, ranks: Int) throws -> [Int] {
        guard mapping.hasPrefix("(vector,"), mapping.hasSuffix(")") else { throw HostListError("'\(mapping)' is not a PMI process mapping") }
        let body = mapping.dropFirst("(vector,".count).dropLast()
        var placed: [Int] = []
        for block in body.split(separator: ")") {
            let numbers = block.drop { $0 == "," || $0 == "(" }.split(separator: ",").compactMap { Int($0) }
            guard numbers.count == 3, numbers[1] >= 1, numbers[2] >= 1 else { throw HostListError("'\(mapping)': a block is not (first,hosts,ranks)") }
            for host in numbers[0]..<numbers[0] + numbers[1] { placed += repeatElement(host, count: numbers[2]) }
        }
        guard !placed.isEmpty else { throw HostListError("'\(mapping)' maps no rank") }
        // MPICH repeats the vector when the job has more ranks than it covers.
        return (0..<ranks).map { placed[$0 % placed.count] }
    }
}
