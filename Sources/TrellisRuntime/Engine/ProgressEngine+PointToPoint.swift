import NIOCore
import TrellisCore
import TrellisWire

extension ProgressEngine {
    /// Starts a send. Small messages go at once; large ones announce
    /// themselves and move when the receiver is ready, so they never pile up
    /// in a receiver's memory. Lock held.
    func postSend(_ payload: ByteBuffer, to peer: ProcessID, envelope: Envelope, request: RequestCore) {
        let length = payload.readableBytes
        guard length <= limits.maximumMessageBytes else {
            request.fail(TrellisError(.messageTooLarge, "a message of \(length) bytes is above the \(limits.maximumMessageBytes)-byte limit"))
            return
        }
        if let error = failure(of: peer, in: envelope.space.context) {
            request.fail(error)
            return
        }
        noteActivity()
        metrics.messagesSent.increment()
        metrics.bytesSent.increment(by: length)
        if peer == processID {
            if length <= limits.eagerThresholdBytes {
                arrive(.eager(payload), envelope: envelope)
                request.succeed()
            } else {
                arrive(.localRendezvous(payload, sender: request), envelope: envelope)
            }
            return
        }
        var header = FrameHeader(
            kind: .eager, flags: envelope.space.collective ? .collective : [], tag: Int32(truncatingIfNeeded: envelope.tag),
            context: envelope.space.context, sourceRank: UInt32(envelope.sourceRank))
        let frame: OutgoingFrame
        var exchange: UInt64?
        if length <= limits.eagerThresholdBytes {
            header.payloadLength = UInt64(length)
            frame = OutgoingFrame(header: header, payload: payload, request: request)
        } else {
            let id = nextExchange
            nextExchange += 1
            exchange = id
            outboundExchanges[id] = OutboundExchange(payload: payload, peer: peer, request: request, context: envelope.space.context)
            header.kind = .readyToSend
            header.exchange = id
            header.aux = UInt64(length)
            frame = OutgoingFrame(header: header)
        }
        do {
            try transport.send(frame, to: peer)
        } catch let error as TrellisError {
            if let exchange { outboundExchanges[exchange] = nil }
            request.fail(error)
        } catch {
            request.fail(TrellisError(.connectionFailed, "\(error)"))
        }
    }

    /// Posts a receive: takes the oldest matching unexpected message, or
    /// waits in the posted queue. `source` and `tag` use -1 for "any". Lock held.
    func postReceive(space: MatchSpace, source: Int, tag: Int, sourceProcess: ProcessID?, request: RequestCore) {
        let id = nextReceiveID
        nextReceiveID += 1
        let entry = MatchingQueues<PendingReceive, ArrivedMessage>.PostedEntry(
            id: id, source: source, tag: tag, value: PendingReceive(request: request, sourceProcess: sourceProcess))
        if let arrived = matching.post(entry, in: space) {
            if case .eager(let buffer) = arrived.value { unexpectedBytes -= buffer.readableBytes }
            take(arrived.value, source: arrived.source, tag: arrived.tag, context: space.context, by: request)
            return
        }
        if let sourceProcess, let error = failure(of: sourceProcess, in: space.context) {
            _ = matching.removePosted(id: id, in: space)
            request.fail(error)
            return
        }
        // Waiting on a process this one never talked to: connect, so that its death is noticed.
        if let sourceProcess, sourceProcess != processID { transport.watch(sourceProcess) }
        request.cancelHandler = { [unowned self] in
            self.matching.removePosted(id: id, in: space) != nil
        }
    }

    /// What a probe sees: the oldest unexpected message that a receive with
    /// these selectors would take. Lock held.
    func peekUnexpected(space: MatchSpace, source: Int, tag: Int) -> MessageStatus? {
        guard let entry = matching.peek(source: source, tag: tag, in: space) else { return nil }
        let length: Int
        switch entry.value {
        case .eager(let buffer): length = buffer.readableBytes
        case .remoteRendezvous(_, let size, _): length = size
        case .localRendezvous(let buffer, _): length = buffer.readableBytes
        case .discarded(let size): length = size
        }
        return MessageStatus(source: entry.source, tag: entry.tag, byteCount: length)
    }

    /// A message arrived (from the wire or from this process): match it or keep it.
    func arrive(_ message: ArrivedMessage, envelope: Envelope) {
        if freedContexts.contains(envelope.space.context) { return }
        if !revokedContexts.isEmpty, !envelope.space.collective, revokedContexts.contains(envelope.space.context) { return }
        var message = message
        if case .eager(let buffer) = message,
            unexpectedBytes + buffer.readableBytes > limits.unexpectedQueueLimitBytes,
            !matching.hasPostedReceive(in: envelope.space, source: envelope.sourceRank, tag: envelope.tag)
        {
            logger.warning(
                "unexpected-message queue full (\(limits.unexpectedQueueLimitBytes) bytes): discarding \(buffer.readableBytes) bytes from rank \(envelope.sourceRank), tag \(envelope.tag)")
            message = .discarded(length: buffer.readableBytes)
            metrics.discardedMessages.increment()
        }
        let entry = MatchingQueues<PendingReceive, ArrivedMessage>.ArrivedEntry(
            source: envelope.sourceRank, tag: envelope.tag, value: message)
        if let posted = matching.arrive(entry, in: envelope.space) {
            take(message, source: envelope.sourceRank, tag: envelope.tag, context: envelope.space.context, by: posted.value.request)
        } else if case .eager(let buffer) = message {
            unexpectedBytes += buffer.readableBytes
        }
    }

    /// Completes (or, for remote rendezvous, starts) a receive with its matched message.
    private func take(_ message: ArrivedMessage, source: Int, tag: Int, context: ContextID, by request: RequestCore) {
        metrics.messagesReceived.increment()
        switch message {
        case .eager(let buffer):
            metrics.bytesReceived.increment(by: buffer.readableBytes)
            request.succeed(.message(Message(payload: buffer, source: source, tag: tag)))
        case .localRendezvous(let buffer, let sender):
            sender.succeed()
            request.succeed(.message(Message(payload: buffer, source: source, tag: tag)))
        case .discarded(let length):
            request.fail(TrellisError(
                .unexpectedQueueFull,
                "a \(length)-byte message from rank \(source), tag \(tag) was discarded because the unexpected-message queue was full (\(limits.unexpectedQueueLimitBytes) bytes); post receives earlier or raise TRELLIS_UNEXPECTED_LIMIT_BYTES"))
        case .remoteRendezvous(let senderExchange, let length, let peer):
            metrics.rendezvousTransfers.increment()
            metrics.bytesReceived.increment(by: length)
            let id = nextExchange
            nextExchange += 1
            inboundExchanges[id] = InboundExchange(
                request: request, buffer: ByteBufferAllocator().buffer(capacity: length), source: source, tag: tag,
                length: length, peer: peer, context: context)
            let clear = FrameHeader(kind: .clearToSend, exchange: senderExchange, aux: id)
            do {
                try transport.send(OutgoingFrame(header: clear), to: peer)
            } catch {
                inboundExchanges[id] = nil
                request.fail(error as? TrellisError ?? TrellisError(.connectionFailed, "\(error)"))
            }
        }
    }
}
