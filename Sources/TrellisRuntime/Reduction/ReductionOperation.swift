import NIOCore
import TrellisCore

/// An elementwise reduction over byte buffers of fixed-width elements.
/// `combine(lower, upper, result)` computes `lower op upper` for each element,
/// where `lower` comes from the lower ranks; `result` may alias either input.
/// Collectives keep rank order for operations that are not commutative.
public struct ReductionOperation: Sendable {
    /// A short name, such as `sum`, that labels requests and error messages.
    public let name: String
    /// Bytes per element. A reduction throws `invalidArgument` for a buffer
    /// that is not a whole number of elements.
    public let elementByteCount: Int
    /// Whether operands may be combined in any order. Commutative operations may use ring
    /// schedules; the others are always combined in rank order.
    public let isCommutative: Bool
    let combine: @Sendable (_ lower: UnsafeRawBufferPointer, _ upper: UnsafeRawBufferPointer, _ result: UnsafeMutableRawBufferPointer) -> Void

    /// An operation from a closure that computes `lower op upper` for every element of the
    /// two input buffers into `result`, which may alias either input.
    public init(
        name: String, elementByteCount: Int, isCommutative: Bool,
        combine: @escaping @Sendable (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void
    ) {
        self.name = name
        self.elementByteCount = elementByteCount
        self.isCommutative = isCommutative
        self.combine = combine
    }

    /// `lower op upper` as a new buffer: written once, where copying one
    /// input to combine into it in place would pass over the bytes twice.
    func apply(lower: ByteBuffer, upper: ByteBuffer) throws -> ByteBuffer {
        guard lower.readableBytes == upper.readableBytes else {
            throw TrellisError(
                .collectiveMismatch,
                "\(name): contributions of \(lower.readableBytes) and \(upper.readableBytes) bytes differ in length")
        }
        let length = upper.readableBytes
        var result = ByteBufferAllocator().buffer(capacity: length)
        result.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { output in
            lower.withUnsafeReadableBytes { left in
                upper.withUnsafeReadableBytes { right in
                    combine(left, right, UnsafeMutableRawBufferPointer(rebasing: output[0..<length]))
                }
            }
            return length
        }
        return result
    }

    func elementCount(of buffer: ByteBuffer) throws -> Int {
        let count = buffer.readableBytes / elementByteCount
        guard count * elementByteCount == buffer.readableBytes else {
            throw TrellisError(.invalidArgument, "\(name): \(buffer.readableBytes) bytes is not a whole number of \(elementByteCount)-byte elements")
        }
        return count
    }
}

/// A typed reduction: `.sum`, `.product`, `.min`, `.max`, bitwise ones for
/// integers, or any associative closure.
///
/// ```swift
/// let total = try world.allreduce([1.5, 2.0], .sum)
/// let longest = try world.allreduce([name.count], .max)
/// let joined = try world.allreduce([x], .custom(commutative: false) { a, b in a &* 31 &+ b })
/// ```
public struct Reduction<T: WireScalar>: Sendable {
    /// The untyped operation that the byte-buffer collectives take.
    public let operation: ReductionOperation

    /// A typed view of an untyped operation whose elements are values of `T` in wire form.
    public init(operation: ReductionOperation) { self.operation = operation }

    /// An elementwise reduction from a closure on two values (`lower`, `upper`).
    public static func custom(name: String = "custom", commutative: Bool = true, _ body: @escaping @Sendable (T, T) -> T) -> Reduction<T> {
        Reduction(operation: ReductionOperation(name: name, elementByteCount: T.wireByteCount, isCommutative: commutative) {
            lower, upper, result in
            let size = T.wireByteCount
            for offset in stride(from: 0, to: result.count, by: size) {
                let value = body(T.load(from: lower, at: offset), T.load(from: upper, at: offset))
                value.store(into: result, at: offset)
            }
        })
    }
}

extension Reduction {
    /// A built-in operation: its bulk loop when `T` is a standard number
    /// type, else `element` applied to each pair.
    static func builtin(_ name: String, _ builtin: BuiltinReduction, element: @escaping @Sendable (T, T) -> T) -> Reduction<T> {
        guard let bulk = builtin.combine(for: T.self) else { return .custom(name: name, element) }
        return Reduction(operation: ReductionOperation(name: name, elementByteCount: T.wireByteCount, isCommutative: true, combine: bulk))
    }
}

extension Reduction where T: Numeric {
    /// Elementwise sum, as MPI_SUM.
    public static var sum: Reduction<T> { .builtin("sum", .sum) { $0 + $1 } }
    /// Elementwise product, as MPI_PROD.
    public static var product: Reduction<T> { .builtin("product", .product) { $0 * $1 } }
}

extension Reduction where T: FixedWidthInteger {
    /// Elementwise sum of integers, as MPI_SUM, wrapping on overflow as C's
    /// unsigned arithmetic does: values from another process must not be
    /// able to stop this one with an overflow trap.
    public static var sum: Reduction<T> { .builtin("sum", .sum) { $0 &+ $1 } }
    /// Elementwise product of integers, as MPI_PROD, wrapping on overflow.
    public static var product: Reduction<T> { .builtin("product", .product) { $0 &* $1 } }
}

extension Reduction where T: Comparable {
    /// Elementwise minimum, as MPI_MIN.
    public static var min: Reduction<T> { .builtin("min", .minimum) { Swift.min($0, $1) } }
    /// Elementwise maximum, as MPI_MAX.
    public static var max: Reduction<T> { .builtin("max", .maximum) { Swift.max($0, $1) } }
}

extension Reduction where T: FixedWidthInteger {
    /// Bitwise and, as MPI_BAND.
    public static var bitwiseAnd: Reduction<T> { .builtin("bitwise-and", .bitwiseAnd) { $0 & $1 } }
    /// Bitwise or, as MPI_BOR.
    public static var bitwiseOr: Reduction<T> { .builtin("bitwise-or", .bitwiseOr) { $0 | $1 } }
    /// Bitwise exclusive or, as MPI_BXOR.
    public static var bitwiseXor: Reduction<T> { .builtin("bitwise-xor", .bitwiseXor) { $0 ^ $1 } }
    /// Nonzero is true; the result is 1 or 0.
    public static var logicalAnd: Reduction<T> { .custom(name: "logical-and") { ($0 != 0 && $1 != 0) ? 1 : 0 } }
    /// Logical or, as MPI_LOR: 1 when either value is nonzero, else 0.
    public static var logicalOr: Reduction<T> { .custom(name: "logical-or") { ($0 != 0 || $1 != 0) ? 1 : 0 } }
}
