import NIOCore
import Testing
import TrellisCore
import TrellisWire
@testable import TrellisRuntime

@Suite struct OneSidedTests {
    private func waiter(_ origin: UInt64, _ mode: TargetWindow.LockMode, exchange: UInt64 = 1) -> TargetWindow.LockWaiter {
        TargetWindow.LockWaiter(origin: ProcessID(rawValue: origin), exchange: exchange, mode: mode)
    }

    @Test func sharedLocksAreHeldTogetherAndExclusiveOnesAlone() {
        let window = TargetWindow(owner: ProcessID(rawValue: 99))
        #expect(window.requestLock(waiter(1, .shared)))
        #expect(window.requestLock(waiter(2, .shared)))
        #expect(!window.requestLock(waiter(3, .exclusive)))
        // First come, first served: a shared request behind a waiting exclusive one waits too.
        #expect(!window.requestLock(waiter(4, .shared)))
        #expect(window.release(ProcessID(rawValue: 1)).isEmpty)
        #expect(window.release(ProcessID(rawValue: 2)).map(\.origin.rawValue) == [3])
        #expect(window.release(ProcessID(rawValue: 3)).map(\.origin.rawValue) == [4])
    }

    @Test func aDeadOriginsLockAndQueuedRequestsAreDropped() {
        let window = TargetWindow(owner: ProcessID(rawValue: 99))
        #expect(window.requestLock(waiter(1, .exclusive)))
        #expect(!window.requestLock(waiter(2, .exclusive)))
        #expect(!window.requestLock(waiter(1, .shared, exchange: 7)))
        #expect(!window.requestLock(waiter(3, .shared)))
        let granted = window.release(ProcessID(rawValue: 1), forgetWaiting: true)
        #expect(granted.map(\.origin.rawValue) == [2])
        #expect(window.waiting.map(\.origin.rawValue) == [3])
    }

    @Test func accessPayloadsRoundTrip() throws {
        let regions = [Datatype.Block(offset: 3, length: 8), Datatype.Block(offset: 100, length: 16)]
        let access = OneSidedAccess(
            regions: regions, combine: .init(operation: .sum, kind: .int64, fetch: true), data: ByteBuffer(repeating: 1, count: 24))
        let decoded = try OneSidedAccess.decode(access.encoded(), for: .accumulate)
        #expect(decoded.regions == regions)
        #expect(decoded.combine?.operation == .sum && decoded.combine?.kind == .int64 && decoded.combine?.fetch == true)
        #expect(decoded.data == ByteBuffer(repeating: 1, count: 24))
    }

    @Test func malformedAccessPayloadsAreErrorsNotCrashes() throws {
        let shortData = OneSidedAccess(regions: [.init(offset: 0, length: 10)], combine: nil, data: ByteBuffer(repeating: 0, count: 9))
        #expect(throws: TrellisError.self) { try OneSidedAccess.decode(shortData.encoded(), for: .put) }
        var lying = ByteBuffer()
        lying.writeInteger(UInt32.max, endianness: .little)
        lying.writeInteger(UInt32(0))
        #expect(throws: TrellisError.self) { try OneSidedAccess.decode(lying, for: .get) }
        let oddElements = OneSidedAccess(
            regions: [.init(offset: 0, length: 12)], combine: .init(operation: .sum, kind: .int64, fetch: false), data: ByteBuffer(repeating: 0, count: 12))
        #expect(throws: TrellisError.self) { try OneSidedAccess.decode(oddElements.encoded(), for: .accumulate) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0..<80, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for operation in [OneSidedOperation.put, .get, .accumulate] {
                _ = try? OneSidedAccess.decode(ByteBuffer(bytes: bytes), for: operation)
            }
        }
    }

    @Test func targetAccessesStayInsideTheirSegment() throws {
        let window = TargetWindow(owner: ProcessID(rawValue: 5))
        window.segments[0] = WindowSegment(byteCount: 32)
        let inside = OneSidedAccess(regions: [.init(offset: 24, length: 8)], combine: nil, data: ByteBuffer(repeating: 9, count: 8))
        try window.put(inside, segment: 0)
        #expect(try window.get(OneSidedAccess(regions: [.init(offset: 20, length: 12)], combine: nil, data: ByteBuffer()), segment: 0)
            == ByteBuffer(bytes: [0, 0, 0, 0] + Array(repeating: 9, count: 8)))
        for region in [Datatype.Block(offset: 25, length: 8), .init(offset: Int.max / 2, length: 8), .init(offset: 33, length: 0)] {
            let outside = OneSidedAccess(regions: [region], combine: nil, data: ByteBuffer(repeating: 1, count: region.length))
            #expect(throws: TrellisError.self) { try window.put(outside, segment: 0) }
        }
        #expect(throws: TrellisError.self) { try window.put(inside, segment: 1) }
    }

    @Test func accumulateOperationsCombineElementwise() throws {
        func combine<T: AccumulateElement>(_ old: [T], _ new: [T], _ operation: AccumulateOperation) throws -> [T] {
            let window = TargetWindow(owner: ProcessID(rawValue: 5))
            window.segments[0] = WindowSegment(byteCount: old.count * T.wireByteCount)
            try window.put(OneSidedAccess(regions: [.init(offset: 0, length: old.count * T.wireByteCount)], combine: nil, data: ByteBuffer(wireValues: old)), segment: 0)
            let access = OneSidedAccess(
                regions: [.init(offset: 0, length: new.count * T.wireByteCount)],
                combine: .init(operation: operation, kind: T.accumulateKind, fetch: true), data: ByteBuffer(wireValues: new))
            let prior = try window.accumulate(access, segment: 0)
            #expect(try prior?.wireValues(of: T.self) == old)
            return try window.get(OneSidedAccess(regions: access.regions, combine: nil, data: ByteBuffer()), segment: 0).wireValues(of: T.self)
        }
        #expect(try combine([Int64(5), -3], [2, 10], .sum) == [7, 7])
        #expect(try combine([Int32(5), -3], [2, 10], .minimum) == [2, -3])
        #expect(try combine([UInt64(5), 3], [2, 10], .maximum) == [5, 10])
        #expect(try combine([UInt32(0b1100)], [0b1010], .bitwiseXor) == [0b0110])
        #expect(try combine([Int64.max], [1], .sum) == [Int64.min])
        #expect(try combine([1.5, 2.0], [0.25, 4.0], .sum) == [1.75, 6.0])
        #expect(try combine([1.5], [7.0], .replace) == [7.0])
        #expect(throws: TrellisError.self) { try combine([1.5], [7.0], .bitwiseAnd) }
    }
}
