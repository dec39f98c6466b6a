import NIOCore
import TrellisCore
import TrellisWire

extension ProgressEngine: TransportDelegate {
    func transport(destinationFor header: FrameHeader, from peer: ProcessID) -> ByteBuffer? {
        guard var exchange = inboundExchanges[header.exchange], exchange.peer == peer,
            exchange.length == Int(header.payloadLength)
        else { return nil }
        // Hand the buffer over so the transport holds the only reference and
        // writes into it without a copy.
        let buffer = exchange.buffer
        exchange.buffer = nil
        inboundExchanges[header.exchange] = exchange
        return buffer
    }

    func transport(received header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) {
        let envelope = Envelope(
            space: MatchSpace(context: header.context, collective: header.flags.contains(.collective)),
            sourceRank: Int(header.sourceRank), tag: Int(header.tag))
        switch header.kind {
        case .eager:
            arrive(.eager(payload), envelope: envelope)
        case .readyToSend:
            guard header.aux <= UInt64(limits.maximumMessageBytes) else {
                logger.warning("process \(peer) announced a \(header.aux)-byte message above the limit; ignored")
                return
            }
            arrive(.remoteRendezvous(exchange: header.exchange, length: Int(header.aux), from: peer), envelope: envelope)
        case .clearToSend:
            guard let exchange = outboundExchanges[header.exchange], exchange.peer == peer else {
                logger.warning("process \(peer) sent clear-to-send for unknown exchange \(header.exchange)")
                return
            }
            outboundExchanges[header.exchange] = nil
            let data = FrameHeader(
                kind: .rendezvousData, payloadLength: UInt64(exchange.payload.readableBytes), exchange: header.aux)
            do {
                try transport.send(OutgoingFrame(header: data, payload: exchange.payload, request: exchange.request), to: peer)
            } catch {
                exchange.request.fail(error as? TrellisError ?? TrellisError(.connectionFailed, "\(error)"))
            }
        case .rendezvousData:
            guard let exchange = inboundExchanges.removeValue(forKey: header.exchange) else { return }
            exchange.request.succeed(.message(Message(payload: payload, source: exchange.source, tag: exchange.tag)))
        case .control:
            receiveControl(header, payload: payload, from: peer)
        case .oneSided:
            receiveOneSided(header, payload: payload, from: peer)
        case .challenge, .hello, .helloAcknowledge, .goodbye, .laneOffer, .laneAccept, .laneSwitch:
            break
        }
    }

    func transport(releasedConnectionClosed peer: ProcessID) {
        freedContexts.connectionClosed(to: peer)
    }

    func transport(wrote frame: OutgoingFrame) {
        frame.request?.succeed()
    }

    func transport(lost peer: ProcessID, error: TrellisError, unsent: [OutgoingFrame], orderly: Bool) {
        if orderly {
            logger.debug("process \(peer) finalized and closed its connection")
        } else {
            logger.warning("lost process \(peer): \(error)")
            metrics.peersLost.increment()
        }
        failPeer(peer, error: orderly ? TrellisError(.peerFinalized, error.message) : error, unsent: unsent, notifyOthers: true)
    }
}
