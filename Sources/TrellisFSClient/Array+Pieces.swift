import NIOCore

extension Array where Element == ByteBuffer {
    /// The pieces of a read (servers' reply slices, in order) as one buffer:
    /// the one piece itself when there is one, else one copy of them all.
    public func joined() -> ByteBuffer {
        if count == 1 { return self[0] }
        var joined = ByteBufferAllocator().buffer(capacity: reduce(0) { $0 + $1.readableBytes })
        for piece in self { joined.writeImmutableBuffer(piece) }
        return joined
    }
}
