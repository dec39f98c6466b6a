import TrellisCore

/// A port name, as MPI_Open_port returns it: where the process that opened
/// it listens, which process that is, and which of its ports.
/// Printed as `trellis-port://HOST:PORT/PROCESS/ID`.
public struct PortName: Hashable, Sendable, CustomStringConvertible {
    /// The `HOST:PORT` where the process that opened the port listens.
    public let address: String
    /// The process that opened the port.
    public let process: ProcessID
    /// Which of that process's ports this is.
    public let id: UInt64

    static let scheme = "trellis-port://"

    /// A port name from its parts.
    public init(address: String, process: ProcessID, id: UInt64) {
        self.address = address
        self.process = process
        self.id = id
    }

    /// Reads the printed form, `trellis-port://HOST:PORT/PROCESS/ID`; throws
    /// `invalidArgument` for any other text.
    public init(parsing text: String) throws {
        guard text.hasPrefix(Self.scheme) else {
            throw TrellisError(.invalidArgument, "'\(text)' is not a port name (\(Self.scheme)HOST:PORT/PROCESS/ID)")
        }
        let parts = text.dropFirst(Self.scheme.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].contains(":"), let process = UInt64(parts[1], radix: 16), let id = UInt64(parts[2]) else {
            throw TrellisError(.invalidArgument, "'\(text)' is not a port name (\(Self.scheme)HOST:PORT/PROCESS/ID)")
        }
        self.init(address: String(parts[0]), process: ProcessID(rawValue: process), id: id)
    }

    /// The printed form, with PROCESS in hexadecimal; `init(parsing:)` reads it back.
    public var description: String { "\(Self.scheme)\(address)/\(String(process.rawValue, radix: 16))/\(id)" }
}
