import NIOCore
import Testing
import TrellisCore
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

    /// The bulk loops of the built-in operations against the same operation
    /// applied value by value, on random arrays of every standard type, with
    /// buffers at aligned and unaligned addresses.
    @Test func bulkLoopsAgreeWithElementwiseOnes() throws {
        var generator = SeededGenerator(seed: 20261206)
        func check<T: WireScalar & FixedWidthInteger>(_ type: T.Type) throws {
            let operations: [(String, Reduction<T>, (T, T) -> T)] = [
                ("sum", .sum, { $0 &+ $1 }), ("product", .product, { $0 &* $1 }), ("min", .min, { Swift.min($0, $1) }),
                ("max", .max, { Swift.max($0, $1) }), ("and", .bitwiseAnd, { $0 & $1 }), ("or", .bitwiseOr, { $0 | $1 }),
                ("xor", .bitwiseXor, { $0 ^ $1 }),
            ]
            for (name, reduction, element) in operations {
                let count = Int.random(in: 0...300, using: &generator)
                let lower = (0..<count).map { _ in T.random(in: .min ... .max, using: &generator) }
                let upper = (0..<count).map { _ in T.random(in: .min ... .max, using: &generator) }
                for shift in [0, 1] {
                    let result = try reduction.operation.apply(lower: Self.buffer(lower, shiftedBy: shift), upper: Self.buffer(upper, shiftedBy: shift))
                    #expect(try result.wireValues(of: T.self) == zip(lower, upper).map(element), "\(T.self) \(name) shifted \(shift)")
                }
            }
        }
        try check(Int.self); try check(Int64.self); try check(Int32.self); try check(Int16.self); try check(Int8.self)
        try check(UInt64.self); try check(UInt32.self); try check(UInt16.self); try check(UInt8.self)
        for _ in 0..<20 {
            let count = Int.random(in: 0...300, using: &generator)
            let lower = (0..<count).map { _ in Double.random(in: -1e6...1e6, using: &generator) }
            let upper = (0..<count).map { _ in Double.random(in: -1e6...1e6, using: &generator) }
            for shift in [0, 3] {
                let sum = try Reduction<Double>.sum.operation.apply(lower: Self.buffer(lower, shiftedBy: shift), upper: Self.buffer(upper, shiftedBy: shift))
                #expect(try sum.wireValues(of: Double.self) == zip(lower, upper).map(+))
                let least = try Reduction<Float>.min.operation.apply(
                    lower: Self.buffer(lower.map(Float.init), shiftedBy: shift), upper: Self.buffer(upper.map(Float.init), shiftedBy: shift))
                #expect(try least.wireValues(of: Float.self) == zip(lower, upper).map { Swift.min(Float($0), Float($1)) })
            }
        }
    }

    /// `values` in wire order, `shift` bytes into a buffer's storage (so not aligned when `shift` is odd).
    static func buffer<T: WireScalar>(_ values: [T], shiftedBy shift: Int) -> ByteBuffer {
        var padded = ByteBuffer(repeating: 0, count: shift)
        padded.writeImmutableBuffer(ByteBuffer(wireValues: values))
        padded.moveReaderIndex(forwardBy: shift)
        return padded
    }
}
