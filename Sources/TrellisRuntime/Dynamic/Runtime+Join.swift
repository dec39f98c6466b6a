import Glibc
import TrellisCore

extension Runtime {
    /// MPI_Comm_join: two processes that share a connected stream socket
    /// (made any way at all) get an intercommunicator of the two. Both call
    /// it with their end; the socket is only used for the introduction and
    /// stays open for the caller.
    public func join(socket fd: Int32, deadline: Deadline? = nil) throws -> Communicator {
        let deadline = deadline ?? .after(seconds: 60)
        let proposal = engine.allocateContextSerials(count: 2)
        let introduction = "TRELLIS-JOIN 1 \(String(processID.rawValue, radix: 16)) \(address) \(proposal)\n"
        try JoinSocket.write(introduction, to: fd, deadline: deadline)
        let answer = try JoinSocket.readLine(from: fd, deadline: deadline)
        let fields = answer.split(separator: " ")
        guard fields.count == 5, fields[0] == "TRELLIS-JOIN", fields[1] == "1",
            let peerRaw = UInt64(fields[2], radix: 16), let peerProposal = UInt64(fields[4])
        else {
            throw TrellisError(.protocolViolation, "the other end of the socket is not joining Trellis (it sent '\(answer.prefix(80))')")
        }
        let peer = ProcessID(rawValue: peerRaw)
        guard peer != processID else { throw TrellisError(.invalidArgument, "a process cannot join itself") }
        // The process with the smaller id names the intercommunicator's context.
        let context = processID < peer
            ? ContextID(owner: processID.rawValue, serial: proposal)
            : ContextID(owner: peer.rawValue, serial: peerProposal)
        return engine.lock.withLock {
            engine.introduce(peer, at: String(fields[3]))
            return Communicator(
                engine: engine, context: context, group: Group(members: [processID]), rank: 0,
                remoteGroup: Group(members: [peer]), localContext: ContextID(owner: processID.rawValue, serial: proposal + 1),
                lockHeld: true)
        }
    }
}

/// Line exchange on a caller's socket, blocking or not, bounded by a deadline.
enum JoinSocket {
    static func write(_ text: String, to fd: Int32, deadline: Deadline) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if count > 0 { offset += count; continue }
            guard count < 0, errno == EAGAIN || errno == EINTR else {
                throw TrellisError(.connectionFailed, "join: writing to socket \(fd) failed", underlying: SystemCallError("send", errno: errno))
            }
            try waitFor(fd, events: Int16(POLLOUT), deadline: deadline)
        }
    }

    /// Reads one byte at a time so nothing after the line is taken from the caller's socket.
    static func readLine(from fd: Int32, deadline: Deadline) throws -> String {
        var line: [UInt8] = []
        while line.count < 4096 {
            try waitFor(fd, events: Int16(POLLIN), deadline: deadline)
            var byte: UInt8 = 0
            let count = Glibc.recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
            if count == 1 {
                if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
                line.append(byte)
            } else if count == 0 {
                throw TrellisError(.connectionFailed, "join: the other end closed socket \(fd)")
            } else if errno != EAGAIN && errno != EINTR {
                throw TrellisError(.connectionFailed, "join: reading socket \(fd) failed", underlying: SystemCallError("recv", errno: errno))
            }
        }
        throw TrellisError(.protocolViolation, "join: the other end sent a line over 4096 bytes")
    }

    private static func waitFor(_ fd: Int32, events: Int16, deadline: Deadline) throws {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let remaining = deadline.remainingNanoseconds
            guard remaining > 0 else { throw TrellisError(.timedOut, "join on socket \(fd) did not finish before its deadline") }
            let result = poll(&entry, 1, Int32(min((remaining + 999_999) / 1_000_000, 60_000)))
            if result > 0 || (result < 0 && errno != EINTR) { return }
        }
    }
}
