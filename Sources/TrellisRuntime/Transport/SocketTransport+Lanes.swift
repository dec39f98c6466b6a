import Glibc
import NIOCore
import TrellisCore
import TrellisWire

/// Shared-memory lanes between processes of one host. A connection starts
/// on its socket; once established, its opener offers a lane
/// (`laneOffer`), the acceptor maps it and answers (`laneAccept`, the last
/// frame it writes to the socket), and the opener's `laneSwitch` is the last
/// it writes there. Each side reads from the lane once the other's last
/// socket frame has come, so no frame overtakes another. The socket stays:
/// the peer's death closes it, as fast as on TCP, and a side that sleeps in
/// the kernel is woken through it by a single byte.
extension SocketTransport {
    /// Offers a lane on a connection this process opened, when both ends
    /// are on this host and its frames go unsealed.
    func offerLane(on connection: SocketConnection) {
        guard lanesEnabled, connection.isOutgoing, connection.outboundSeal == nil, connection.lane == nil, !saidGoodbye,
            Sockets.isSameHost(connection.fd)
        else { return }
        do {
            let lane = try SharedMemoryLane(creatingWithRingBytes: SharedMemoryLane.defaultRingBytes)
            var payload = ByteBufferAllocator().buffer(capacity: 32)
            payload.writeInteger(Int32(getpid()), endianness: .little)
            payload.writeInteger(lane.descriptor ?? -1, endianness: .little)
            payload.writeInteger(UInt64(lane.ringBytes), endianness: .little)
            payload.writeBytes(lane.cookie)
            connection.offeredLane = lane
            connection.sendQueue.append(OutgoingFrame(header: FrameHeader(kind: .laneOffer, payloadLength: UInt64(payload.readableBytes)), payload: payload))
        } catch {
            logger.debug("no shared-memory lane to \(describe(connection)): \(error)")
        }
    }

    func receiveLaneFrame(_ header: FrameHeader, payload: ByteBuffer?, on connection: SocketConnection) throws {
        switch header.kind {
        case .laneOffer:
            guard !connection.isOutgoing, connection.lane == nil else {
                throw TrellisError(.protocolViolation, "an unexpected shared-memory lane offer came from \(describe(connection))")
            }
            // A side that is closing answers nothing: the opener stays on the socket.
            guard !connection.closingAfterFlush else { return }
            var bytes = payload ?? ByteBuffer()
            guard let pid = bytes.readInteger(endianness: .little, as: Int32.self),
                let descriptor = bytes.readInteger(endianness: .little, as: Int32.self),
                let ringBytes = bytes.readInteger(endianness: .little, as: UInt64.self), ringBytes <= 1 << 30,
                let cookie = bytes.readBytes(length: 16)
            else {
                throw TrellisError(.protocolViolation, "a malformed shared-memory lane offer came from \(describe(connection))")
            }
            var accepted = false
            if lanesEnabled, connection.inboundSeal == nil {
                do {
                    connection.lane = try SharedMemoryLane(openingFrom: pid, descriptor: descriptor, ringBytes: Int(ringBytes), cookie: cookie)
                    accepted = true
                } catch {
                    logger.debug("refused the shared-memory lane of \(describe(connection)): \(error)")
                }
            }
            enqueue(OutgoingFrame(header: FrameHeader(kind: .laneAccept, tag: accepted ? 1 : 0)), on: connection)
        case .laneAccept:
            guard connection.isOutgoing, let offered = connection.offeredLane else {
                throw TrellisError(.protocolViolation, "an unexpected shared-memory lane answer came from \(describe(connection))")
            }
            connection.offeredLane = nil
            offered.closeDescriptor()
            guard header.tag == 1 else { return }
            connection.lane = offered
            startReadingLane(connection)
            // A side that is closing keeps writing to the socket; the peer keeps reading it.
            if !connection.closingAfterFlush { enqueue(OutgoingFrame(header: FrameHeader(kind: .laneSwitch)), on: connection) }
        default:
            guard !connection.isOutgoing, connection.lane != nil, !connection.inboundOnLane else {
                throw TrellisError(.protocolViolation, "an unexpected shared-memory lane switch came from \(describe(connection))")
            }
            startReadingLane(connection)
        }
    }

    private func enqueue(_ frame: OutgoingFrame, on connection: SocketConnection) {
        connection.sendQueue.append(frame)
        if connection.sendQueue.count == 1 { flush(connection) }
    }

    private func startReadingLane(_ connection: SocketConnection) {
        connection.switchInboundToLane()
        laneConnections.append(connection)
        lanesChanged = true
        // A poller asleep in the kernel learns of the new lane.
        wake()
    }

    /// Reads the lanes with input, writes to the lanes with room again, and
    /// hands the poller the lanes as they are now. Lock held, by the poller.
    func handleLanes() {
        for connection in laneConnections where connection.state != .closed {
            guard let lane = connection.lane else { continue }
            if connection.inboundOnLane, lane.hasInput {
                do { _ = try readFrames(connection) } catch let error as TrellisError {
                    fail(connection, error: error)
                } catch {
                    fail(connection, error: TrellisError(.protocolViolation, "\(error)"))
                }
            }
            if connection.state != .closed, connection.laneOutputBlocked, lane.hasRoom { flush(connection) }
        }
        if lanesChanged {
            lanesChanged = false
            laneConnections.removeAll { $0.state == .closed || $0.lane == nil }
            pollingLanes = laneConnections.compactMap { $0.inboundOnLane ? $0.lane : nil }
        }
    }
}
