import PropertyBased
import Testing
import TrellisHosts

@Suite struct NodeSetTests {
    @Test func expandsTheSyntaxOfClusterShellAndSlurm() throws {
        #expect(try NodeSet("node[01-03]").names == ["node01", "node02", "node03"])
        #expect(try NodeSet("a,b,c").names == ["a", "b", "c"])
        #expect(try NodeSet("n[8-10]").names == ["n8", "n9", "n10"])
        #expect(try NodeSet("n[1-3,5,07-08]").names == ["n1", "n2", "n3", "n5", "n07", "n08"])
        #expect(try NodeSet("n[1-9/4]").names == ["n1", "n5", "n9"])
        #expect(try NodeSet("rack[1-2]-node[1-3/2]").names == ["rack1-node1", "rack1-node3", "rack2-node1", "rack2-node3"])
        #expect(try NodeSet("login,node[1-2],login").names == ["login", "node1", "node2"])
        #expect(try NodeSet("10.0.0.[1-2]").names == ["10.0.0.1", "10.0.0.2"])
        #expect(try NodeSet("host_a.example").count == 1)
    }

    @Test func refusesWhatItCannotReadAndSaysWhy() {
        for (bad, reason) in [
            ("n[1-", "without its ']'"), ("n]1", "without its '['"), ("n[3-1]", "backwards"), ("n[a-b]", "not a number"),
            ("", "empty name"), ("a,,b", "empty name"), ("n[]", "empty brackets"), ("n[1-4/0]", "step"), ("n[[1]]", "inside brackets"),
            ("bad!name", "not a host name"), ("two words", "no spaces"), ("n[0-99999999]", "more than"), ("a[1-2000]b[1-2000]", "more than"),
        ] {
            #expect(throws: HostListError.self, "\(bad)") { try NodeSet(bad) }
            do { _ = try NodeSet(bad) } catch let error as HostListError {
                #expect(error.description.contains(reason), "\(bad): \(error)")
            } catch {}
        }
    }

    @Test func foldsAsNodesetDoes() throws {
        #expect(NodeSet(["node01", "node02", "node03", "login"]).folded == "login,node[01-03]")
        #expect(NodeSet(["n8", "n9", "n10"]).folded == "n[8-10]")
        #expect(NodeSet(["n1", "n3", "n4", "n5", "m1"]).folded == "m1,n[1,3-5]")
        #expect(NodeSet(["rack1-node1", "rack1-node2", "rack2-node1"]).folded == "rack1-node[1-2],rack2-node1")
        #expect(NodeSet(["n9", "n010"]).folded == "n[9,010]")
        #expect(try NodeSet(NodeSet(["n9", "n010", "n09"]).folded).names.sorted() == ["n010", "n09", "n9"])
    }

    /// Names made of a prefix, a number of some width and a suffix.
    static let names = zip(Gen.oneOf(Gen.always("node"), Gen.always("gpu-"), Gen.always("r1n"), Gen.always("")), Gen.int(in: 0...130), Gen.int(in: 1...4),
                           Gen.oneOf(Gen.always(""), Gen.always("-ib"), Gen.always(".cluster")))
        .map { prefix, number, width, suffix in
            let digits = String(number)
            return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits + suffix
        }
        .array(of: 0...60)

    @Test func foldingThenExpandingGivesTheSameNames() async {
        await propertyCheck(count: 500, input: Self.names) { names in
            guard !names.isEmpty else { return }
            let set = NodeSet(names)
            let again = try NodeSet(set.folded)
            #expect(Set(again.names) == Set(set.names), "\(names) folded as \(set.folded)")
            #expect(again.folded == set.folded)
        }
    }
}
