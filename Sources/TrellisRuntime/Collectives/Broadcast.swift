import NIOCore
import TrellisCore

/// Broadcast in which only the root knows the data, even its size.
///
/// Small data (below `largeBytes`) goes down a binomial tree in one message
/// that starts with a mode byte. Large data first sends a 9-byte header
/// (mode, length) down the tree, then moves without any copy, one of two ways:
/// - up to `scatterRanks` ranks, the whole message goes down the same tree
///   (n·(p−1) bytes cross in all, the least memory traffic, which is what
///   bounds ranks that share the cores of one host);
/// - above it, one block per rank is scattered down the tree and a ring
///   allgather finishes (van de Geijn): each rank sends and receives about
///   2n bytes whatever p is, instead of the root sending n bytes log p times;
/// - `chained` (the caller keeps several broadcasts in flight, as a stream
///   cut in chunks): the whole message goes along a chain, root to rank 1 to
///   rank 2 ..., so every rank sends and receives it once, the fewest bytes
///   on every link and in all, and the chunks in flight keep every link busy.
func broadcastSchedule(
    payload: ByteBuffer?, root: Int, rank: Int, size: Int, largeBytes: Int, scatterRanks: Int = 8, chained: Bool = false
) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    let tree = BinomialTree(rank: rank, size: size, root: root)
    let state = BroadcastState()

    if rank == root {
        let data = payload ?? ByteBuffer()
        state.data = data
        if data.readableBytes < largeBytes {
            var first = ByteBufferAllocator().buffer(capacity: data.readableBytes + 1)
            first.writeInteger(BroadcastMode.inline.rawValue)
            first.writeImmutableBuffer(data)
            state.header = first
            state.mode = .inline
        } else {
            state.mode = chained ? .chain : size > scatterRanks ? .scatterAllgather : .wholeTree
            var header = ByteBuffer()
            header.writeInteger(state.mode.rawValue)
            header.writeInteger(UInt64(data.readableBytes), endianness: .little)
            state.header = header
            state.length = data.readableBytes
        }
    } else {
        schedule.step { step in
            step.receives.append((tree.parent!, { original in
                state.received = original
                var message = original
                guard let byte = message.readInteger(as: UInt8.self), let mode = BroadcastMode(rawValue: byte) else {
                    throw TrellisError(.protocolViolation, "malformed broadcast header")
                }
                state.mode = mode
                if mode == .inline {
                    state.data = message
                } else {
                    guard let length = message.readInteger(endianness: .little, as: UInt64.self) else {
                        throw TrellisError(.protocolViolation, "truncated broadcast header")
                    }
                    state.length = Int(length)
                }
            }))
        }
    }

    // Forward the first message (data or header) to the children, unchanged.
    schedule.step { step in
        for child in tree.children {
            step.sends.append((child.rank, { try state.firstMessage() }))
        }
        step.then = { [unowned schedule] in
            switch state.mode {
            case .inline: break
            case .wholeTree: appendWholeTree(to: schedule, tree: tree, state: state)
            case .chain: appendChain(to: schedule, tree: tree, state: state)
            case .scatterAllgather: appendScatterAllgather(to: schedule, tree: tree, state: state)
            }
        }
    }
    schedule.result = { .buffer(state.data ?? ByteBuffer()) }
    return schedule
}

/// The first byte of a broadcast's first message.
private enum BroadcastMode: UInt8 {
    case inline = 0
    case scatterAllgather = 1
    case wholeTree = 2
    case chain = 3
}

private final class BroadcastState {
    var header: ByteBuffer?
    var received: ByteBuffer?
    var data: ByteBuffer?
    var mode = BroadcastMode.inline
    var length = 0
    let ring = BlockState(blocks: [])

    func firstMessage() throws -> ByteBuffer {
        if let header { return header }
        guard let received else { throw TrellisError(.protocolViolation, "broadcast header missing") }
        return received
    }
}

/// A step that takes `expectedBytes` from the parent into `state.data` (none at the root).
private func appendReceiveFromParent(to schedule: CollectiveSchedule, tree: BinomialTree, state: BroadcastState, expectedBytes: Int) {
    guard let parent = tree.parent else { return }
    schedule.step { step in
        step.receives.append((parent, { bytes in
            guard bytes.readableBytes == expectedBytes else {
                throw TrellisError(.collectiveMismatch, "broadcast part of \(bytes.readableBytes) bytes, expected \(expectedBytes)")
            }
            state.data = bytes
        }))
    }
}

private func appendWholeTree(to schedule: CollectiveSchedule, tree: BinomialTree, state: BroadcastState) {
    appendReceiveFromParent(to: schedule, tree: tree, state: state, expectedBytes: state.length)
    // One child at a time, largest subtree first, so that it starts
    // forwarding while the root serves the next (concurrent sends would
    // split the root's bandwidth and delay every subtree).
    for child in tree.children {
        schedule.step { step in step.sends.append((child.rank, { state.data! })) }
    }
}

private func appendChain(to schedule: CollectiveSchedule, tree: BinomialTree, state: BroadcastState) {
    if tree.relative > 0 {
        schedule.step { step in
            step.receives.append((tree.actual(tree.relative - 1), { bytes in
                guard bytes.readableBytes == state.length else {
                    throw TrellisError(.collectiveMismatch, "broadcast of \(bytes.readableBytes) bytes, expected \(state.length)")
                }
                state.data = bytes
            }))
        }
    }
    if tree.relative + 1 < tree.size {
        schedule.step { step in step.sends.append((tree.actual(tree.relative + 1), { state.data! })) }
    }
}

private func appendScatterAllgather(to schedule: CollectiveSchedule, tree: BinomialTree, state: BroadcastState) {
    let size = tree.size
    let chunk = (state.length + size - 1) / size
    func byteRange(ofBlocks blocks: Range<Int>) -> Range<Int> {
        let start = min(blocks.lowerBound * chunk, state.length)
        let end = min(blocks.upperBound * chunk, state.length)
        return start..<end
    }
    state.ring.blocks = Array(repeating: ByteBuffer(), count: size)
    // Scatter: each node gets the bytes of its subtree's blocks from its parent.
    let mine = tree.subtree
    let mineBytes = byteRange(ofBlocks: mine)
    appendReceiveFromParent(to: schedule, tree: tree, state: state, expectedBytes: mineBytes.count)
    schedule.step { step in
        for child in tree.children {
            let childBytes = byteRange(ofBlocks: child.relativeRank..<child.relativeRank + child.subtreeSize)
            step.sends.append((child.rank, {
                state.data!.getSlice(at: state.data!.readerIndex + childBytes.lowerBound - mineBytes.lowerBound, length: childBytes.count)!
            }))
        }
        step.then = {
            let block = byteRange(ofBlocks: tree.relative..<tree.relative + 1)
            state.ring.blocks[tree.relative] = state.data!.getSlice(
                at: state.data!.readerIndex + block.lowerBound - mineBytes.lowerBound, length: block.count)!
        }
    }
    appendRingAllgather(to: schedule, state: state.ring, position: tree.relative, size: size) { tree.actual($0) }
    schedule.step { step in
        step.then = {
            var whole = ByteBufferAllocator().buffer(capacity: state.length)
            for block in state.ring.blocks { whole.writeImmutableBuffer(block) }
            state.data = whole
        }
    }
}
