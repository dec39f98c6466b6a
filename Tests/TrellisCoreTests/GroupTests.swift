import Testing
import TrellisCore

@Suite struct GroupTests {
    let group = Group(members: (1...6).map { ProcessID(rawValue: UInt64($0)) })

    @Test func includeExcludeTranslate() throws {
        let picked = try group.including(ranks: [4, 0, 2])
        #expect(picked.members.map(\.rawValue) == [5, 1, 3])
        #expect(try group.excluding(ranks: [0, 5]).members.map(\.rawValue) == [2, 3, 4, 5])
        #expect(group.translate(ranks: [0, 1, 2], to: picked) == [1, nil, 2])
        #expect(throws: TrellisError.self) { try group.including(ranks: [7]) }
        #expect(throws: TrellisError.self) { try group.including(ranks: [1, 1]) }
    }

    @Test func unionAndIntersectionKeepOrder() throws {
        let a = try group.including(ranks: [0, 1, 2])
        let b = try group.including(ranks: [2, 3])
        #expect(a.union(b).members.map(\.rawValue) == [1, 2, 3, 4])
        #expect(a.intersection(b).members.map(\.rawValue) == [3])
    }

    @Test func limitsReadFromEnvironment() throws {
        let limits = try RuntimeLimits.fromEnvironment(["TRELLIS_EAGER_THRESHOLD_BYTES": "1024", "TRELLIS_ASYNC_PROGRESS": "0"])
        #expect(limits.eagerThresholdBytes == 1024)
        #expect(limits.asynchronousProgress == false)
        #expect(throws: TrellisError.self) { try RuntimeLimits.fromEnvironment(["TRELLIS_SPIN_US": "fast"]) }
    }
}
