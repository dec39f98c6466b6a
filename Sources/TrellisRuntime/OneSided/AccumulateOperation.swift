import TrellisCore

/// How `accumulate` combines an origin's values with a window's. Unlike
/// collective reductions these travel by name, since the target applies them
/// without its application taking part. The numbers are part of the wire protocol.
public enum AccumulateOperation: UInt8, Sendable, CaseIterable {
    /// The origin's value replaces the target's, as MPI_REPLACE.
    case replace = 0
    /// The values are added, as MPI_SUM; integers wrap on overflow.
    case sum = 1
    /// The smaller value is kept, as MPI_MIN.
    case minimum = 2
    /// The larger value is kept, as MPI_MAX.
    case maximum = 3
    /// Bitwise and, as MPI_BAND; integers only.
    case bitwiseAnd = 4
    /// Bitwise or, as MPI_BOR; integers only.
    case bitwiseOr = 5
    /// Bitwise exclusive or, as MPI_BXOR; integers only.
    case bitwiseXor = 6
}

/// The element types `accumulate` understands. The numbers are part of the wire protocol.
public enum AccumulateElementKind: UInt8, Sendable, CaseIterable {
    /// 4-byte signed integers (`Int32`).
    case int32 = 1
    /// 8-byte signed integers (`Int64`).
    case int64 = 2
    /// 4-byte unsigned integers (`UInt32`).
    case uint32 = 3
    /// 8-byte unsigned integers (`UInt64`).
    case uint64 = 4
    /// 8-byte IEEE 754 floating point (`Double`).
    case double = 5

    var byteCount: Int {
        switch self {
        case .int32, .uint32: return 4
        case .int64, .uint64, .double: return 8
        }
    }
}

/// A number a window can accumulate into.
public protocol AccumulateElement: WireScalar, Comparable, Numeric {
    /// The element kind that tells the target how to read values of this type.
    static var accumulateKind: AccumulateElementKind { get }
}

extension Int32: AccumulateElement { public static var accumulateKind: AccumulateElementKind { .int32 } }
extension Int64: AccumulateElement { public static var accumulateKind: AccumulateElementKind { .int64 } }
extension UInt32: AccumulateElement { public static var accumulateKind: AccumulateElementKind { .uint32 } }
extension UInt64: AccumulateElement { public static var accumulateKind: AccumulateElementKind { .uint64 } }
extension Double: AccumulateElement { public static var accumulateKind: AccumulateElementKind { .double } }

extension AccumulateOperation {
    /// Combines `incoming` into `target` element by element (both
    /// `kind`-sized, same length). Throws for bitwise operations on `double`.
    func apply(_ kind: AccumulateElementKind, incoming: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer) throws {
        switch kind {
        case .int32: try combineIntegers(Int32.self, incoming, target)
        case .int64: try combineIntegers(Int64.self, incoming, target)
        case .uint32: try combineIntegers(UInt32.self, incoming, target)
        case .uint64: try combineIntegers(UInt64.self, incoming, target)
        case .double:
            guard let combine = arithmetic(Double.self) else {
                throw TrellisError(.invalidArgument, "accumulate \(self) is not defined for double")
            }
            combineElements(incoming, target, combine)
        }
    }

    private func arithmetic<T: AccumulateElement>(_: T.Type) -> ((T, T) -> T)? {
        switch self {
        case .replace: return { _, new in new }
        case .sum: return { old, new in old + new }
        case .minimum: return { old, new in min(old, new) }
        case .maximum: return { old, new in max(old, new) }
        case .bitwiseAnd, .bitwiseOr, .bitwiseXor: return nil
        }
    }

    private func combineIntegers<T: AccumulateElement & FixedWidthInteger>(_: T.Type, _ incoming: UnsafeRawBufferPointer, _ target: UnsafeMutableRawBufferPointer) throws {
        let combine: (T, T) -> T
        switch self {
        case .sum: combine = { $0 &+ $1 }
        case .bitwiseAnd: combine = { $0 & $1 }
        case .bitwiseOr: combine = { $0 | $1 }
        case .bitwiseXor: combine = { $0 ^ $1 }
        default: combine = arithmetic(T.self)!
        }
        combineElements(incoming, target, combine)
    }

    private func combineElements<T: WireScalar>(_ incoming: UnsafeRawBufferPointer, _ target: UnsafeMutableRawBufferPointer, _ combine: (T, T) -> T) {
        for offset in stride(from: 0, to: target.count, by: T.wireByteCount) {
            let old = T.load(from: UnsafeRawBufferPointer(target), at: offset)
            combine(old, T.load(from: incoming, at: offset)).store(into: target, at: offset)
        }
    }
}
