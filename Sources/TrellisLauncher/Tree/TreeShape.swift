/// How a job's proxies hang together: a tree of `fanout` children per node
/// with the launcher at position 0 and host `i`'s proxy at position `i + 1`.
/// Every node starts its own children and talks only to them and to its
/// parent, so the launcher handles `fanout` links whatever the host count,
/// and a fence takes one round per level, about log(hosts) / log(fanout).
public struct TreeShape: Sendable, Equatable {
    public let hostCount: Int
    public let fanout: Int

    public init(hostCount: Int, fanout: Int) {
        self.hostCount = max(0, hostCount)
        self.fanout = max(1, fanout)
    }

    public static let launcher = 0

    public func position(ofHost host: Int) -> Int { host + 1 }
    public func host(atPosition position: Int) -> Int { position - 1 }

    public func parent(of position: Int) -> Int? {
        position == 0 ? nil : (position - 1) / fanout
    }

    public func children(of position: Int) -> [Int] {
        let first = position * fanout + 1
        guard first <= hostCount else { return [] }
        return Array(first...min(hostCount, first + fanout - 1))
    }

    /// The hosts of the subtree at `position` (its own, if it is a host, and all below it).
    public func hostsBelow(_ position: Int) -> [Int] {
        var result: [Int] = position == 0 ? [] : [host(atPosition: position)]
        var frontier = children(of: position)
        while !frontier.isEmpty {
            result += frontier.map(host(atPosition:))
            frontier = frontier.flatMap(children(of:))
        }
        return result.sorted()
    }

    /// The child of `position` whose subtree holds `host`, if any.
    public func child(of position: Int, towards host: Int) -> Int? {
        var current = self.position(ofHost: host)
        while let up = parent(of: current) {
            if up == position { return current }
            current = up
        }
        return nil
    }

    /// Levels below the launcher: the rounds a fence or a start-up takes.
    public var depth: Int {
        var levels = 0
        var frontier = [0]
        while true {
            frontier = frontier.flatMap(children(of:))
            if frontier.isEmpty { return levels }
            levels += 1
        }
    }
}
