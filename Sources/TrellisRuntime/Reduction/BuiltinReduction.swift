/// The built-in operations on the standard number types as loops over whole
/// buffers (a closure call per buffer, not per element), which the compiler
/// unrolls and vectorizes. Wire order is little-endian, so on a
/// little-endian host a buffer is an array of native values.
enum BuiltinReduction: Sendable {
    case sum, product, minimum, maximum, bitwiseAnd, bitwiseOr, bitwiseXor

    typealias Combine = @Sendable (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void

    /// The bulk loop for values of `type`, or nil when there is none (the
    /// caller falls back to a closure per element).
    func combine<T>(for type: T.Type) -> Combine? {
        #if _endian(little)
        switch type {
        case is Double.Type: return floatingPoint(Double.self)
        case is Float.Type: return floatingPoint(Float.self)
        case is Int.Type: return integer(Int.self)
        case is Int64.Type: return integer(Int64.self)
        case is Int32.Type: return integer(Int32.self)
        case is Int16.Type: return integer(Int16.self)
        case is Int8.Type: return integer(Int8.self)
        case is UInt64.Type: return integer(UInt64.self)
        case is UInt32.Type: return integer(UInt32.self)
        case is UInt16.Type: return integer(UInt16.self)
        case is UInt8.Type: return integer(UInt8.self)
        default: return nil
        }
        #else
        return nil
        #endif
    }

    private func floatingPoint<V: BinaryFloatingPoint>(_ type: V.Type) -> Combine? {
        switch self {
        case .sum: return { Self.loop($0, $1, $2) { (a: V, b: V) in a + b } }
        case .product: return { Self.loop($0, $1, $2) { (a: V, b: V) in a * b } }
        case .minimum: return { Self.loop($0, $1, $2) { (a: V, b: V) in Swift.min(a, b) } }
        case .maximum: return { Self.loop($0, $1, $2) { (a: V, b: V) in Swift.max(a, b) } }
        case .bitwiseAnd, .bitwiseOr, .bitwiseXor: return nil
        }
    }

    private func integer<V: FixedWidthInteger>(_ type: V.Type) -> Combine? {
        switch self {
        case .sum: return { Self.loop($0, $1, $2) { (a: V, b: V) in a &+ b } }
        case .product: return { Self.loop($0, $1, $2) { (a: V, b: V) in a &* b } }
        case .minimum: return { Self.loop($0, $1, $2) { (a: V, b: V) in Swift.min(a, b) } }
        case .maximum: return { Self.loop($0, $1, $2) { (a: V, b: V) in Swift.max(a, b) } }
        case .bitwiseAnd: return { Self.loop($0, $1, $2) { (a: V, b: V) in a & b } }
        case .bitwiseOr: return { Self.loop($0, $1, $2) { (a: V, b: V) in a | b } }
        case .bitwiseXor: return { Self.loop($0, $1, $2) { (a: V, b: V) in a ^ b } }
        }
    }

    /// `result[i] = op(lower[i], upper[i])`; `result` may be either input.
    @inline(__always)
    private static func loop<V>(
        _ lower: UnsafeRawBufferPointer, _ upper: UnsafeRawBufferPointer, _ result: UnsafeMutableRawBufferPointer, _ op: (V, V) -> V
    ) {
        let width = MemoryLayout<V>.stride
        let count = result.count / width
        guard count > 0 else { return }
        let addresses = UInt(bitPattern: lower.baseAddress) | UInt(bitPattern: upper.baseAddress) | UInt(bitPattern: result.baseAddress)
        if addresses % UInt(MemoryLayout<V>.alignment) == 0 {
            let left = lower.baseAddress!.assumingMemoryBound(to: V.self)
            let right = upper.baseAddress!.assumingMemoryBound(to: V.self)
            let out = result.baseAddress!.assumingMemoryBound(to: V.self)
            for index in 0..<count { out[index] = op(left[index], right[index]) }
        } else {
            for index in 0..<count {
                let offset = index * width
                let value = op(lower.loadUnaligned(fromByteOffset: offset, as: V.self), upper.loadUnaligned(fromByteOffset: offset, as: V.self))
                result.storeBytes(of: value, toByteOffset: offset, as: V.self)
            }
        }
    }
}
