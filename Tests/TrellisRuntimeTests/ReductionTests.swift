import NIOCore
import Testing
@testable import TrellisRuntime

/// Reductions combine what other processes send; no value they send may stop
/// this process.
@Suite struct ReductionTests {
    @Test func integerSumsAndProductsWrapInsteadOfTrapping() throws {
        let big = ByteBuffer(wireValues: [Int64.max, Int64.min, 3])
        let one = ByteBuffer(wireValues: [Int64(1), Int64(-1), Int64.max])
        let sum = try Reduction<Int64>.sum.operation.apply(lower: big, upper: one).wireValues(of: Int64.self)
        #expect(sum == [Int64.min, Int64.max, Int64.max &+ 3])
        let product = try Reduction<Int64>.product.operation.apply(lower: big, upper: one).wireValues(of: Int64.self)
        #expect(product == [Int64.max, Int64.min, Int64.max &* 3])
        let bytes = try Reduction<UInt8>.sum.operation.apply(lower: ByteBuffer(wireValues: [UInt8(200)]), upper: ByteBuffer(wireValues: [UInt8(100)]))
        #expect(try bytes.wireValues(of: UInt8.self) == [44])
    }

    @Test func floatingPointSumsAreStillPlainSums() throws {
        let sum = try Reduction<Double>.sum.operation.apply(lower: ByteBuffer(wireValues: [1.5, .infinity]), upper: ByteBuffer(wireValues: [2.25, 1.0]))
        #expect(try sum.wireValues(of: Double.self) == [3.75, .infinity])
    }
}
