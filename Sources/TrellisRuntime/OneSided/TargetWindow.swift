import Glibc
import DequeModule
import NIOCore
import TrellisCore

/// Memory exposed in a window: zero-filled, owned here, freed with the last
/// reference (detach drops the window's; an access in progress holds its own).
final class WindowSegment: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer

    init(byteCount: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 0), alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { bytes.deallocate() }

    /// Whether every region lies inside the segment.
    func contains(_ regions: [Datatype.Block]) -> Bool {
        regions.allSatisfy { $0.offset <= bytes.count && $0.length <= bytes.count - $0.offset }
    }
}

/// A window as its target sees it: the segments others may reach and the
/// passive-target lock. Engine lock.
final class TargetWindow {
    enum LockMode { case shared, exclusive }
    struct LockWaiter {
        var origin: ProcessID
        var exchange: UInt64
        var mode: LockMode
    }

    let owner: ProcessID
    var segments: [UInt64: WindowSegment] = [:]
    var nextSegment: UInt64 = 1
    /// Who holds the lock, and how; many share it or one holds it exclusively.
    private(set) var holders: [ProcessID: LockMode] = [:]
    private(set) var waiting = Deque<LockWaiter>()

    init(owner: ProcessID) { self.owner = owner }

    /// Takes the lock for `waiter` now if nobody waits ahead and it is
    /// compatible with the holders; else queues it (first come, first served).
    func requestLock(_ waiter: LockWaiter) -> Bool {
        if waiting.isEmpty, isCompatible(waiter.mode) {
            holders[waiter.origin] = waiter.mode
            return true
        }
        waiting.append(waiter)
        return false
    }

    /// Gives back `origin`'s lock (and drops its queued requests when it is
    /// gone); returns the waiters that now hold the lock.
    func release(_ origin: ProcessID, forgetWaiting: Bool = false) -> [LockWaiter] {
        holders[origin] = nil
        if forgetWaiting { waiting.removeAll { $0.origin == origin } }
        var granted: [LockWaiter] = []
        while let next = waiting.first, isCompatible(next.mode) {
            waiting.removeFirst()
            holders[next.origin] = next.mode
            granted.append(next)
        }
        return granted
    }

    private func isCompatible(_ mode: LockMode) -> Bool {
        switch mode {
        case .exclusive: return holders.isEmpty
        case .shared: return !holders.values.contains(.exclusive)
        }
    }

    // MARK: Access

    func segment(_ id: UInt64) throws -> WindowSegment {
        guard let segment = segments[id] else {
            throw TrellisError(.accessRefused, "segment \(id) of the window at process \(owner) is not attached (never attached, or detached)")
        }
        return segment
    }

    func checkBounds(_ regions: [Datatype.Block], in segment: WindowSegment, id: UInt64) throws {
        guard segment.contains(regions) else {
            throw TrellisError(.accessRefused, "an access reaches past the \(segment.bytes.count) bytes of segment \(id) at process \(owner)")
        }
    }

    func put(_ access: OneSidedAccess, segment id: UInt64) throws {
        let segment = try segment(id)
        try checkBounds(access.regions, in: segment, id: id)
        access.data.withUnsafeReadableBytes { source in
            var read = 0
            for region in access.regions {
                (segment.bytes.baseAddress! + region.offset).copyMemory(from: source.baseAddress! + read, byteCount: region.length)
                read += region.length
            }
        }
    }

    func get(_ access: OneSidedAccess, segment id: UInt64) throws -> ByteBuffer {
        let segment = try segment(id)
        try checkBounds(access.regions, in: segment, id: id)
        return Self.copy(access, from: segment)
    }

    private static func copy(_ access: OneSidedAccess, from segment: WindowSegment) -> ByteBuffer {
        var data = ByteBufferAllocator().buffer(capacity: access.regionBytes)
        for region in access.regions {
            data.writeBytes(UnsafeRawBufferPointer(rebasing: segment.bytes[region.offset..<region.offset + region.length]))
        }
        return data
    }

    /// Combines the data into the regions; returns their prior contents when asked.
    func accumulate(_ access: OneSidedAccess, segment id: UInt64) throws -> ByteBuffer? {
        guard let combine = access.combine else { throw TrellisError(.protocolViolation, "accumulate without an operation") }
        let segment = try segment(id)
        try checkBounds(access.regions, in: segment, id: id)
        let prior = combine.fetch ? Self.copy(access, from: segment) : nil
        try access.data.withUnsafeReadableBytes { source in
            var read = 0
            for region in access.regions {
                let target = UnsafeMutableRawBufferPointer(rebasing: segment.bytes[region.offset..<region.offset + region.length])
                try combine.operation.apply(combine.kind, incoming: UnsafeRawBufferPointer(rebasing: source[read..<read + region.length]), into: target)
                read += region.length
            }
        }
        return prior
    }
}
