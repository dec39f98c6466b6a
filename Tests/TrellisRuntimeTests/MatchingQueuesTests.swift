import Testing
import TrellisCore
@testable import TrellisRuntime

@Suite struct MatchingQueuesTests {
    typealias Queues = MatchingQueues<Int, String>
    let space = MatchSpace(context: ContextID(owner: 1, serial: 0), collective: false)
    let other = MatchSpace(context: ContextID(owner: 1, serial: 0), collective: true)

    @Test func unexpectedMessagesMatchInArrivalOrder() {
        var queues = Queues()
        _ = queues.arrive(.init(source: 1, tag: 5, value: "a"), in: space)
        _ = queues.arrive(.init(source: 2, tag: 5, value: "b"), in: space)
        _ = queues.arrive(.init(source: 1, tag: 6, value: "c"), in: space)
        #expect(queues.post(.init(id: 1, source: -1, tag: 6, value: 0), in: space)?.value == "c")
        #expect(queues.post(.init(id: 2, source: -1, tag: -1, value: 0), in: space)?.value == "a")
        #expect(queues.post(.init(id: 3, source: 2, tag: -1, value: 0), in: space)?.value == "b")
        #expect(queues.unexpectedCount == 0)
    }

    @Test func postedReceivesMatchOldestFirstAndSpacesStaySeparate() {
        var queues = Queues()
        #expect(queues.post(.init(id: 1, source: -1, tag: -1, value: 10), in: space) == nil)
        #expect(queues.post(.init(id: 2, source: 3, tag: 1, value: 20), in: space) == nil)
        #expect(queues.arrive(.init(source: 3, tag: 1, value: "x"), in: other) == nil)
        #expect(queues.arrive(.init(source: 3, tag: 1, value: "y"), in: space)?.value == 10)
        #expect(queues.arrive(.init(source: 3, tag: 1, value: "z"), in: space)?.value == 20)
        #expect(queues.unexpectedCount == 1)
        #expect(queues.peek(source: 3, tag: 1, in: other)?.value == "x")
    }

    @Test func cancelAndRemoveAll() {
        var queues = Queues()
        _ = queues.post(.init(id: 7, source: 1, tag: 1, value: 1), in: space)
        #expect(queues.removePosted(id: 7, in: space)?.value == 1)
        #expect(queues.removePosted(id: 7, in: space) == nil)
        _ = queues.post(.init(id: 8, source: 1, tag: 1, value: 2), in: space)
        _ = queues.arrive(.init(source: 4, tag: 4, value: "q"), in: space)
        let removed = queues.removeAll(in: space)
        #expect(removed.posted.count == 1 && removed.unexpected.count == 1)
        #expect(queues.postedCount == 0 && queues.unexpectedCount == 0)
    }

    /// A random interleaving of posts and arrivals against a brute-force model.
    @Test func agreesWithASimpleModel() {
        var generator = SystemRandomNumberGenerator()
        var queues = Queues()
        var modelPosted: [(id: UInt64, source: Int, tag: Int)] = []
        var modelUnexpected: [(source: Int, tag: Int, value: String)] = []
        for step in 0..<5000 {
            let source = Int.random(in: 0..<3, using: &generator)
            let tag = Int.random(in: 0..<3, using: &generator)
            if Bool.random(using: &generator) {
                let wantSource = Bool.random(using: &generator) ? -1 : source
                let wantTag = Bool.random(using: &generator) ? -1 : tag
                let got = queues.post(.init(id: UInt64(step), source: wantSource, tag: wantTag, value: step), in: space)
                if let index = modelUnexpected.firstIndex(where: { (wantSource == -1 || $0.source == wantSource) && (wantTag == -1 || $0.tag == wantTag) }) {
                    #expect(got?.value == modelUnexpected.remove(at: index).value)
                } else {
                    #expect(got == nil)
                    modelPosted.append((UInt64(step), wantSource, wantTag))
                }
            } else {
                let value = "m\(step)"
                let got = queues.arrive(.init(source: source, tag: tag, value: value), in: space)
                if let index = modelPosted.firstIndex(where: { ($0.source == -1 || $0.source == source) && ($0.tag == -1 || $0.tag == tag) }) {
                    #expect(got?.id == modelPosted.remove(at: index).id)
                } else {
                    #expect(got == nil)
                    modelUnexpected.append((source, tag, value))
                }
            }
        }
    }
}
