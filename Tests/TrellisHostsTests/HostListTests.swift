import PropertyBased
import Testing
import TrellisHosts

@Suite struct HostListTests {
    @Test func listsGiveSlotsPerEntry() throws {
        let list = try HostList(parsing: "node[01-02]:2,login:1,gpu1,node01")
        #expect(list.hosts == [
            .init(name: "node01", slots: 3), .init(name: "node02", slots: 2), .init(name: "login", slots: 1), .init(name: "gpu1", slots: nil),
        ])
        #expect(list.nodeSet.folded == "gpu1,login,node[01-02]")
        #expect(throws: HostListError.self) { try HostList(parsing: "a:0") }
        #expect(throws: HostListError.self) { try HostList(parsing: "a,,b") }
        #expect(throws: HostListError.self) { try HostList(parsing: "a:x") }
    }

    @Test func hostfilesInHydraAndOpenMPIForms() throws {
        let text = """
            # the compute nodes
            node[1-3]:4
            big slots=16    # a fat node
              login

            node1 slots=2
            """
        let list = try HostList(hostfile: text, named: "hosts.txt")
        #expect(list.hosts == [
            .init(name: "node1", slots: 6), .init(name: "node2", slots: 4), .init(name: "node3", slots: 4), .init(name: "big", slots: 16),
            .init(name: "login", slots: nil),
        ])
        for (bad, line) in [("a\nb c\n", "line 2"), ("a\nb slots=x", "line 2"), ("n[1-\n", "line 1"), ("# nothing\n", "names no host")] {
            do {
                _ = try HostList(hostfile: bad, named: "hosts.txt")
                Issue.record("\(bad) was read")
            } catch let error as HostListError {
                #expect(error.description.contains("hosts.txt") && error.description.contains(line), "\(error)")
            }
        }
    }

    static let lists = zip(Gen.int(in: 1...6), Gen.int(in: 0...4).array(of: 6)).map { count, slots in
        HostList((0..<count).map { HostList.Host(name: "h\($0)", slots: slots[$0] == 0 ? nil : slots[$0]) })
    }

    @Test func everyRankIsPlacedAndSlotsHoldUntilTheyRunOut() async {
        await propertyCheck(count: 500, input: Self.lists, Gen.int(in: 1...40), Gen.oneOf(Gen.always(Placement.Order.bySlot), Gen.always(.byNode))) {
            list, ranks, order in
            let placement = try Placement(ranks: ranks, on: list, order: order)
            #expect(placement.hostOfRank.count == ranks && placement.hostOfRank.allSatisfy { placement.hosts.indices.contains($0) })
            #expect(placement.ranksOfHost.flatMap { $0 }.sorted() == Array(0..<ranks))
            let slots = list.hosts.map { $0.slots ?? 1 }
            let total = slots.reduce(0, +)
            for (host, ranksThere) in placement.ranksOfHost.enumerated() {
                // Around again only once every slot is taken: no host runs more than its share of the passes.
                let passes = (ranks + total - 1) / total
                #expect(ranksThere.count <= slots[host] * passes, "\(list) \(ranks) \(order)")
                if ranks >= total { #expect(ranksThere.count >= slots[host], "\(list) \(ranks) \(order)") }
            }
            if order == .bySlot { #expect(placement.hostOfRank == placement.hostOfRank.sorted() || ranks > total) }
        }
    }

    @Test func theProcessMappingReadsBackAsThePlacement() async throws {
        let four = HostList((0..<4).map { HostList.Host(name: "n\($0)", slots: 2) })
        #expect(try Placement(ranks: 8, on: four).processMapping == "(vector,(0,4,2))")
        #expect(try Placement(ranks: 8, on: four, order: .byNode).processMapping == "(vector,(0,4,1),(0,4,1))")
        #expect(try Placement(ranks: 6, on: four, ranksPerHost: 3).processMapping == "(vector,(0,2,3))")
        await propertyCheck(count: 500, input: Self.lists, Gen.int(in: 1...40), Gen.oneOf(Gen.always(Placement.Order.bySlot), Gen.always(.byNode))) {
            list, ranks, order in
            let placement = try Placement(ranks: ranks, on: list, order: order)
            #expect(try Placement.hostOfRank(fromProcessMapping: placement.processMapping, ranks: ranks) == placement.hostOfRank, "\(placement.processMapping)")
        }
    }
}
