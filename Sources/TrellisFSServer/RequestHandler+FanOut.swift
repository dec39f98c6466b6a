import TrellisCore
import TrellisFSProtocol

/// Fan-outs: work over many servers as a binomial tree, this server the
/// root of its part (§7 and Fig. 4b of the persistent-services paper,
/// Latham, Ross and Thakur, "Can MPI Be Used for Persistent Parallel
/// Services?"). Each server does its own share while its children do
/// theirs; a child that cannot be reached fails its whole subtree, which the
/// result names instead of failing everything.
extension RequestHandler {
    /// Runs `work` over `servers` (this server first); the result and the
    /// time steps from receiving the work to answering it.
    func fanOut(_ work: FanOutWork, over servers: [UInt32]) throws -> (result: FanOutResult, steps: Int) {
        guard servers.first.map(Int.init) == context.serverIndex else {
            throw FSError(.invalidArgument, "a fan-out reached server \(context.serverIndex) but names \(servers.first.map(String.init) ?? "none") as its root")
        }
        guard Set(servers).count == servers.count, servers.allSatisfy({ Int($0) < context.configuration.servers.count }) else {
            throw FSError(.invalidArgument, "a fan-out names servers twice or outside the \(context.configuration.servers.count) of this file system")
        }
        if case .createDatafiles(let counts) = work, counts.count != servers.count {
            throw FSError(.invalidArgument, "a fan-out creates for \(counts.count) servers but names \(servers.count)")
        }
        let subtrees = FanOutTree.subtrees(of: Array(servers.indices))
        guard subtrees.isEmpty || context.peers != nil else {
            throw FSError(.notSupported, "server \(context.serverIndex) has no links to other servers")
        }
        if !subtrees.isEmpty { try refuseWaitingOnPeersInACommit("servers \(servers.dropFirst().map(String.init).joined(separator: ", ")) in a fan-out") }
        let deadline = Deadline.after(seconds: context.peerTimeoutSeconds)
        let flights = try subtrees.map { positions in
            try context.peers!.start(FanOut(work.restricted(to: positions), servers: positions.map { servers[$0] }), to: Int(servers[positions[0]]), deadline: deadline)
        }
        var result = localShare(of: work.restricted(to: [0]))
        var steps = subtrees.count
        for (order, (flight, positions)) in zip(flights, subtrees).enumerated() {
            let names = positions.map { String(servers[$0]) }.joined(separator: ", ")
            do {
                let answer = try context.peers!.finish(flight, deadline: deadline)
                result.merge(answer.reply)
                steps = max(steps, order + 1 + answer.steps)
            } catch {
                result.failures.append("servers \(names): \(error)")
            }
        }
        return (result, steps + 1)
    }

    /// This server's part: never throws, failures are reported in the result.
    private func localShare(of work: FanOutWork) -> FanOutResult {
        var result = FanOutResult()
        do {
            switch work {
            case .createDatafiles(let counts):
                result.made = try context.metadata.createDatafiles(count: Int(counts.first ?? 0), at: context.now())
            case .removeDatafiles(let handles):
                let here = handles.filter { $0.server == context.serverIndex }
                try context.metadata.deleteDatafiles(here)
                // The copies take the drop before the commit that deletes the datafiles, which the reply waits for.
                try dropBstreams(here, waitsForCopies: false)
            case .datafileSizes(let handles):
                result.sized = handles.filter { $0.server == context.serverIndex }
                result.sizes = try result.sized.map { try context.bstreams.size(datafile: try checkDatafile($0)) }
            }
        } catch {
            result = FanOutResult(failures: ["server \(context.serverIndex): \(error)"])
        }
        return result
    }

    // MARK: What aggregate operations fan out

    /// One new datafile on each server listed, in that order: this server's
    /// made directly, the rest through one fan-out. On any failure what was
    /// made is removed again and the failure thrown.
    func makeDatafiles(on wanted: [Int], steps: inout Int) throws -> [ObjectHandle] {
        var tree: [UInt32] = [UInt32(context.serverIndex)]
        for server in wanted where !tree.contains(UInt32(server)) { tree.append(UInt32(server)) }
        let counts = tree.map { server in UInt32(wanted.filter { $0 == Int(server) }.count) }
        let (result, fanOutSteps) = try fanOut(.createDatafiles(counts: counts), over: tree)
        steps = max(steps, fanOutSteps)
        guard result.failures.isEmpty else {
            if !result.made.isEmpty { _ = try? fanOut(.removeDatafiles(result.made), over: servers(of: result.made)) }
            throw FSError(.serverUnavailable, "making datafiles: \(result.failures.joined(separator: "; "))")
        }
        var byServer = Dictionary(grouping: result.made) { $0.server ?? -1 }.mapValues { Array($0.reversed()) }
        return try wanted.map { server in
            guard let handle = byServer[server]?.popLast() else {
                throw FSError(.protocolViolation, "server \(server) made fewer datafiles than asked")
            }
            return handle
        }
    }

    /// Deletes datafiles wherever they are; returns the failures (the
    /// datafiles left are orphans that fsck finds).
    func removeDatafiles(_ datafiles: [ObjectHandle], steps: inout Int) throws -> [String] {
        guard !datafiles.isEmpty else { return [] }
        let (result, fanOutSteps) = try fanOut(.removeDatafiles(datafiles), over: servers(of: datafiles))
        steps = max(steps, fanOutSteps)
        return result.failures
    }

    /// The sizes of datafiles wherever they are, in their order.
    func datafileSizes(_ datafiles: [ObjectHandle], steps: inout Int) throws -> [UInt64] {
        let (result, fanOutSteps) = try fanOut(.datafileSizes(datafiles), over: servers(of: datafiles))
        steps = max(steps, fanOutSteps)
        guard result.failures.isEmpty else { throw FSError(.serverUnavailable, "datafile sizes: \(result.failures.joined(separator: "; "))") }
        let sizes = Dictionary(zip(result.sized, result.sizes), uniquingKeysWith: { first, _ in first })
        return try datafiles.map { datafile in
            guard let size = sizes[datafile] else { throw FSError(.protocolViolation, "no size came back for datafile \(datafile)") }
            return size
        }
    }

    /// This server first, then each other server holding one of `datafiles`.
    private func servers(of datafiles: [ObjectHandle]) -> [UInt32] {
        var tree: [UInt32] = [UInt32(context.serverIndex)]
        for datafile in datafiles {
            if let server = datafile.server, !tree.contains(UInt32(server)) { tree.append(UInt32(server)) }
        }
        return tree
    }
}

extension FanOutWork {
    /// The work for the servers at `positions` of the tree's list (creation
    /// counts are per position; removals and sizes go to every server, each
    /// taking its own).
    func restricted(to positions: [Int]) -> FanOutWork {
        switch self {
        case .createDatafiles(let counts): return .createDatafiles(counts: positions.map { counts[$0] })
        case .removeDatafiles, .datafileSizes: return self
        }
    }
}
