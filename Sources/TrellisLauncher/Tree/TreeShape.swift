/// How a job's proxies hang together: a tree of `fanout` children per node
/// with the launcher at position 0 and the proxied hosts at positions 1, 2,
/// ... in host-list order. Every node starts its own children and talks
/// only to them and to its parent, so the launcher handles `fanout` links
/// whatever the host count, and a fence takes one round per level, about
/// log(hosts) / log(fanout).
///
/// When the launcher runs on one of the job's hosts (`launcherHost`), it
/// runs that host's ranks itself and no proxy stands there.
public struct TreeShape: Sendable, Equatable {
    /// The number of hosts in the job; 0 when it runs on the launcher's host
    /// alone, with no proxies.
    public let hostCount: Int
    /// The most children a node of the tree starts, at least 1.
    public let fanout: Int
    /// The host whose ranks the launcher runs itself, if any.
    public let launcherHost: Int?

    /// A tree over `hostCount` hosts with `fanout` children per node. Negative
    /// counts become 0, a fanout below 1 becomes 1, and a `launcherHost` outside
    /// the host list is ignored.
    public init(hostCount: Int, fanout: Int, launcherHost: Int? = nil) {
        self.hostCount = max(0, hostCount)
        self.fanout = max(1, fanout)
        self.launcherHost = launcherHost.flatMap { (0..<max(0, hostCount)).contains($0) ? $0 : nil }
    }

    /// The launcher's position, the root of the tree.
    public static let launcher = 0

    /// How many hosts have proxies.
    public var proxyCount: Int { launcherHost == nil ? hostCount : hostCount - 1 }

    /// The position of a proxied host (the launcher's own host is at 0).
    public func position(ofHost host: Int) -> Int {
        guard let launcherHost else { return host + 1 }
        if host == launcherHost { return 0 }
        return host > launcherHost ? host : host + 1
    }

    /// The index in the host list of the proxy at `position` (1 or more); the
    /// inverse of `position(ofHost:)`.
    public func host(atPosition position: Int) -> Int {
        let index = position - 1
        guard let launcherHost else { return index }
        return index >= launcherHost ? index + 1 : index
    }

    /// The position of the node that starts the one at `position`; `nil` for the
    /// launcher.
    public func parent(of position: Int) -> Int? {
        position == 0 ? nil : (position - 1) / fanout
    }

    /// The positions of the nodes the one at `position` starts, at most `fanout`
    /// of them, in order; empty for a leaf.
    public func children(of position: Int) -> [Int] {
        let first = position * fanout + 1
        guard first <= proxyCount else { return [] }
        return Array(first...min(proxyCount, first + fanout - 1))
    }

    /// The hosts of the subtree at `position` (its own, and all below it).
    public func hostsBelow(_ position: Int) -> [Int] {
        var result: [Int] = position == 0 ? (launcherHost.map { [$0] } ?? []) : [host(atPosition: position)]
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
        guard current != 0 else { return nil }
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
