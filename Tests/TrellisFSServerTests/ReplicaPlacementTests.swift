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

    @Test func impossibleCountsAreRefused() {
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a"], replicas: 2) }
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a", "b", "c", "d"], replicas: 4) }
        #expect(throws: FSError.self) { try ReplicaPlacement(hosts: ["a", "b"], replicas: 0) }
    }
}
