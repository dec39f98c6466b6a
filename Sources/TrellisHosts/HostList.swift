/// Hosts and the ranks each may run (its slots), as `--hosts` and
/// hostfiles give them:
///
/// - a list: nodeset expressions separated by commas, each optionally
///   followed by `:SLOTS` for every name it expands to
///   (`node[01-04]:2,login:1,gpu1`), as MPICH's Hydra takes `-hosts`;
/// - a hostfile: one entry per line, `NAME`, `NAME:SLOTS` (Hydra's form)
///   or `NAME slots=SLOTS` (Open MPI's), where NAME may be a nodeset;
///   `#` starts a comment.
///
/// A name given again gets the slots of both entries (an entry without a
/// count counting as 1). Hosts keep the order in which they first appear.
public struct HostList: Sendable, Hashable {
    /// One host of the list: its name and the ranks it may run.
    public struct Host: Sendable, Hashable {
        /// The host name, one name of the nodeset that the entry gives.
        public var name: String
        /// The ranks it may run; nil when the list does not say (the launcher decides).
        public var slots: Int?

        /// A host that may run `slots` ranks, or as many as the launcher decides when nil.
        public init(name: String, slots: Int? = nil) {
            self.name = name
            self.slots = slots
        }
    }

    /// The hosts in order of first appearance, each name once, with the slots
    /// of all its entries added up.
    public private(set) var hosts: [Host] = []

    /// The most slots one host may claim.
    public static let maximumSlots = 1 << 16

    /// A list of the given hosts; a name given again adds its slots to the
    /// first entry of that name. An empty array gives an empty list.
    public init(_ hosts: [Host]) {
        for host in hosts { add(host) }
    }

    /// A `--hosts` list.
    public init(parsing list: String) throws {
        for entry in try NodeSet.topLevelParts(of: list) {
            let (expression, slots) = try Self.splitSlots(entry, in: list)
            for name in try NodeSet(String(expression)).names { add(Host(name: name, slots: slots)) }
        }
        guard !hosts.isEmpty else { throw HostListError("the host list is empty") }
    }

    /// A hostfile's text.
    public init(hostfile text: String, named file: String = "hostfile") throws {
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.prefix { $0 != "#" }.trimmingWhitespace()
            guard !line.isEmpty else { continue }
            let where_ = "\(file) line \(number + 1)"
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let expression: Substring
            var slots: Int?
            switch words.count {
            case 1:
                (expression, slots) = try Self.splitSlots(words[0], in: where_)
            case 2:
                guard words[1].hasPrefix("slots=") else { throw HostListError("\(where_): '\(words[1])' is not slots=N") }
                expression = words[0]
                slots = try Self.slotCount(words[1].dropFirst("slots=".count), in: where_)
            default:
                throw HostListError("\(where_): expected NAME, NAME:SLOTS or NAME slots=SLOTS, not '\(line)'")
            }
            do {
                for name in try NodeSet(String(expression)).names { add(Host(name: name, slots: slots)) }
            } catch let error as HostListError {
                throw HostListError("\(where_): \(error.description)")
            }
        }
        guard !hosts.isEmpty else { throw HostListError("\(file) names no host") }
    }

    /// The host names, in list order.
    public var names: [String] { hosts.map(\.name) }
    /// The host names as a `NodeSet`, for instance to print them folded.
    public var nodeSet: NodeSet { NodeSet(names) }

    private mutating func add(_ host: Host) {
        guard let index = hosts.firstIndex(where: { $0.name == host.name }) else {
            hosts.append(host)
            return
        }
        hosts[index].slots = min((hosts[index].slots ?? 1) + (host.slots ?? 1), Self.maximumSlots)
    }

    private static func splitSlots(_ entry: Substring, in context: String) throws -> (Substring, Int?) {
        guard let colon = entry.lastIndex(of: ":") else { return (entry, nil) }
        return (entry[..<colon], try slotCount(entry[entry.index(after: colon)...], in: context))
    }

    private static func slotCount(_ text: Substring, in context: String) throws -> Int {
        guard let slots = Int(text), (1...maximumSlots).contains(slots) else {
            throw HostListError("\(context): '\(text)' is not a slot count from 1 to \(maximumSlots)")
        }
        return slots
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        let isText: (Character) -> Bool = { $0 != " " && $0 != "\t" && $0 != "\r" }
        guard let first = firstIndex(where: isText), let last = lastIndex(where: isText) else { return "" }
        return self[first...last]
    }
}
