import NIOCore
import TrellisCore

extension Communicator {
    /// Starts sending `payload` to `destination`. The buffer is shared, not
    /// copied; since `ByteBuffer` is a value, later changes by the caller do not
    /// affect the message.
    public func isend(_ payload: ByteBuffer, to destination: Int, tag: Int = 0) throws -> Request<Void> {
        try checkRank(destination, role: "destination")
        try Self.checkTag(tag)
        let core = RequestCore(engine: engine, label: .send(destination: destination, tag: tag))
        try engine.lock.withLock {
            try checkUsable()
            engine.postSend(
                payload, to: process(ofRank: destination),
                envelope: Envelope(space: pointToPointSpace, sourceRank: rank, tag: tag), request: core)
        }
        return Request(core: core)
    }

    /// Sends `payload` and blocks until the send completes, as MPI_Send: small
    /// messages go at once, large ones wait for the receiver to match them.
    public func send(_ payload: ByteBuffer, to destination: Int, tag: Int = 0, deadline: Deadline? = nil) throws {
        try isend(payload, to: destination, tag: tag).wait(deadline: deadline)
    }

    /// Starts a receive; `.any` source or tag accept any, and the message tells
    /// which it was.
    public func ireceive(from source: SourceSelector = .any, tag: TagSelector = .any) throws -> Request<Message> {
        let (sourceRank, tagValue) = try matchingKeys(source, tag)
        let core = RequestCore(engine: engine, label: .receive(source, tag))
        try engine.lock.withLock {
            try checkUsable()
            engine.postReceive(
                space: pointToPointSpace, source: sourceRank, tag: tagValue,
                sourceProcess: sourceRank >= 0 ? process(ofRank: sourceRank) : nil, request: core)
        }
        return Request(core: core) { output in
            guard case .message(let message) = output else { preconditionFailure("receive produced \(output)") }
            return message
        }
    }

    /// Blocks until a matching message arrives and returns it, as MPI_Recv; throws
    /// `timedOut` if `deadline` passes first.
    public func receive(from source: SourceSelector = .any, tag: TagSelector = .any, deadline: Deadline? = nil) throws -> Message {
        try ireceive(from: source, tag: tag).wait(deadline: deadline)
    }

    /// Looks for a matching message without receiving it.
    public func iprobe(from source: SourceSelector = .any, tag: TagSelector = .any) throws -> MessageStatus? {
        let (sourceRank, tagValue) = try matchingKeys(source, tag)
        engine.progressOnce()
        return try engine.lock.withLock {
            try checkUsable()
            return engine.peekUnexpected(space: pointToPointSpace, source: sourceRank, tag: tagValue)
        }
    }

    /// Waits until a matching message is available and describes it.
    public func probe(from source: SourceSelector = .any, tag: TagSelector = .any, deadline: Deadline? = nil) throws -> MessageStatus {
        let (sourceRank, tagValue) = try matchingKeys(source, tag)
        var found: MessageStatus?
        try engine.wait(deadline: deadline, label: "probe for \(source), \(tag)") { [self] in
            found = engine.peekUnexpected(space: pointToPointSpace, source: sourceRank, tag: tagValue)
            return found != nil || isFreed
        }
        try engine.lock.withLock { try checkUsable() }
        return found!
    }

    // MARK: Typed convenience

    /// Sends values of a fixed-width type in little-endian order.
    public func send<T: WireScalar>(_ values: [T], to destination: Int, tag: Int = 0, deadline: Deadline? = nil) throws {
        try send(ByteBuffer(wireValues: values), to: destination, tag: tag, deadline: deadline)
    }

    /// Receives values of a fixed-width type.
    public func receive<T: WireScalar>(
        _ type: T.Type, from source: SourceSelector = .any, tag: TagSelector = .any, deadline: Deadline? = nil
    ) throws -> (values: [T], source: Int, tag: Int) {
        let message = try receive(from: source, tag: tag, deadline: deadline)
        return (try message.values(of: type), message.source, message.tag)
    }

    // MARK: Checks

    static func checkTag(_ tag: Int) throws {
        guard (0...maximumTag).contains(tag) else {
            throw TrellisError(.invalidTag, "tag \(tag) is outside 0...\(maximumTag)")
        }
    }

    private func matchingKeys(_ source: SourceSelector, _ tag: TagSelector) throws -> (Int, Int) {
        var sourceRank = -1
        if case .rank(let value) = source {
            try checkRank(value, role: "source")
            sourceRank = value
        }
        var tagValue = -1
        if case .tag(let value) = tag {
            try Self.checkTag(value)
            tagValue = value
        }
        return (sourceRank, tagValue)
    }
}
