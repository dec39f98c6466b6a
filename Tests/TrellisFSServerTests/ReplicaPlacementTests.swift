import PropertyBased
import Testing
import TrellisFSProtocol
import TrellisFSServer

@Suite struct ReplicaPlacementTests {
    /// Servers (1 to 16) spread over 1 to 5 hosts, and a replica count that fits.
    static let layouts = Gen.int(in: 0...4).array(of: 1...16).map { hosts in hosts.map { "host\($0)" } }

    /// Every group has its own server as primary and `replicas` different
    /// members, on different hosts whenever there are hosts enough; every
    /// server is a member of as many groups as it holds replicas.
    @Test func everyGroupHasDistinctMembersApartWhenHostsAllow() async {
        await propertyCheck(count: 500, input: Self.layouts, Gen.int(in: 1...3)) { hosts, wanted in
            let replicas = min(wanted, hosts.count)
            let placement = try ReplicaPlacement(hosts: hosts, replicas: replicas)
            #expect(placement.members.count == hosts.count && placement.replicas == replicas)
            let distinctHosts = Set(hosts).count
            for (group, members) in placement.members.enumerated() {
                #expect(members.first == group && Set(members).count == replicas, "\(hosts) \(members)")
                if distinctHosts >= replicas { #expect(Set(members.map { hosts[$0] }).count == replicas, "\(hosts) group \(group): \(members)") }
            }
            for server in hosts.indices {
                let groups = placement.groups(of: server)
                #expect(groups.first?.group == server && groups.first?.place == 0)
                #expect(groups.count == placement.members.filter { $0.contains(server) }.count)
            }
        }
    }

    /// With every server on a host of its own, each holds as many
    /// secondaries as any other, give or take one.
    @Test func secondariesAreSpreadEvenly() async {
        await propertyCheck(count: 200, input: Gen.int(in: 1...20), Gen.int(in: 1...3)) { servers, wanted in
            let replicas = min(wanted, servers)
            let placement = try ReplicaPlacement(hosts: (0..<servers).map { "h\($0)" }, replicas: replicas)
            let load = (0..<servers).map { server in placement.members.filter { $0.dropFirst().contains(server) }.count }
            #expect(load.max()! - load.min()! <= 1, "\(placement.members)")
        }
        // Two hosts of two servers each: each server backs up exactly one group, on the other host.
        let placement = try? ReplicaPlacement(hosts: ["a", "a", "b", "b"], replicas: 2)
        #expect(placement?.members == [[0, 2], [1, 3], [2, 0], [3, 1]])
    }

    /// Each count of `dataReplicas` adds a set of one group per server, led
    /// by that server, with that many members; the first set is the file
    /// system's own, unchanged by the others; a server's own group stays first.
    @Test func dataReplicasAddOneSetOfGroupsPerCount() async {
        await propertyCheck(count: 300, input: Self.layouts, Gen.int(in: 1...3).array(of: 0...2)) { hosts, wanted in
            let counts = wanted.map { min($0, hosts.count) }.reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
            guard let own = counts.first else { return }
            let extra = Array(counts.dropFirst())
            let placement = try ReplicaPlacement(hosts: hosts, replicas: own, dataReplicas: extra)
            let n = hosts.count
            #expect(placement.members.count == n * counts.count && placement.serverCount == n && placement.counts == counts)
            #expect(Array(placement.members.prefix(n)) == (try ReplicaPlacement(hosts: hosts, replicas: own)).members)
            for (set, count) in counts.enumerated() {
                #expect(placement.counts.firstIndex(of: count) == set)
                for slot in 0..<n {
                    let members = placement.members[set * n + slot]
                    #expect(members.first == slot && Set(members).count == count && placement.copies(ofGroup: set * n + slot) == count, "\(hosts) set \(set): \(members)")
                    #expect(placement.isOwnSet(set * n + slot) == (set == 0))
                }
            }
            #expect(placement.isReplicated == counts.contains { $0 > 1 })
            for server in hosts.indices { #expect(placement.groups(of: server).first?.group == server) }
        }
        #expect(try! ReplicaPlacement(hosts: ["a", "b", "c"], replicas: 2).counts == [2])
    }

    @Test func impossibleCountsAreRefused() {
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a", "b", "c"], replicas: 2, dataReplicas: [2]) }
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a", "b", "c"], replicas: 2, dataReplicas: [1, 1]) }
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a", "b"], replicas: 1, dataReplicas: [3]) }
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a"], replicas: 2) }
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a", "b", "c", "d"], replicas: 4) }
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a", "b"], replicas: 0) }
    }
}
