import NIOCore
import TrellisCore

/// What the members of one side of an intercommunicator learn when it is
/// made: the other side's processes and where to reach them, the context of
/// the intercommunicator, and the context of their own side's private
/// communicator (for merge and disconnect). Also what the two roots tell
/// each other during connect / accept (with the contexts they know so far).
struct IntercommunicatorPlan: Equatable {
    var remote: [Member]
    var context: ContextID
    var localContext: ContextID

    struct Member: Equatable {
        var process: ProcessID
        var address: String
    }

    static let maximumMembers = 1 << 24

    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 40 + remote.count * 32)
        for value in [context.owner, context.serial, localContext.owner, localContext.serial] {
            buffer.writeInteger(value, endianness: .little)
        }
        buffer.writeInteger(UInt32(remote.count), endianness: .little)
        for member in remote {
            buffer.writeInteger(member.process.rawValue, endianness: .little)
            let bytes = Array(member.address.utf8)
            buffer.writeInteger(UInt16(bytes.count), endianness: .little)
            buffer.writeBytes(bytes)
        }
        return buffer
    }

    /// Decodes what a peer sent; anything malformed is a protocol error, never a crash.
    static func decode(_ input: ByteBuffer) throws -> IntercommunicatorPlan {
        var buffer = input
        func read<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
            guard let value = buffer.readInteger(endianness: .little, as: type) else {
                throw TrellisError(.protocolViolation, "truncated intercommunicator description")
            }
            return value
        }
        let context = ContextID(owner: try read(UInt64.self), serial: try read(UInt64.self))
        let localContext = ContextID(owner: try read(UInt64.self), serial: try read(UInt64.self))
        let count = Int(try read(UInt32.self))
        guard count <= maximumMembers else {
            throw TrellisError(.protocolViolation, "intercommunicator description lists \(count) members")
        }
        var remote: [Member] = []
        remote.reserveCapacity(count)
        for _ in 0..<count {
            let process = ProcessID(rawValue: try read(UInt64.self))
            let length = Int(try read(UInt16.self))
            guard let address = buffer.readString(length: length) else {
                throw TrellisError(.protocolViolation, "truncated address in intercommunicator description")
            }
            remote.append(Member(process: process, address: address))
        }
        return IntercommunicatorPlan(remote: remote, context: context, localContext: localContext)
    }
}
