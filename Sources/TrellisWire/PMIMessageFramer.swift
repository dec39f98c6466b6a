/// The two wire forms of PMI that MPICH's simple PMI, Hydra and Slurm speak
/// on one connection:
///
/// - PMI-1: a line of space-separated `key=value` pairs, `cmd=` first,
///   ended by a newline;
/// - PMI-2: a 6-character decimal length (padded with blanks on either
///   side, or with zeros) of the bytes that follow, then `cmd=NAME;key=value;...;`
///   (a value ends at a single `;`; `;;` stands for a `;` in it).
///
/// A PMI-2 client opens with a PMI-1 `init` asking for version 2, then
/// switches; the framer tells each message's form by its first bytes, as
/// MPICH's own reader does.
public enum PMIWire: Sendable, Equatable {
    /// PMI-1: newline-ended lines of space-separated `key=value` pairs (and
    /// multi-line `mcmd=` blocks).
    case v1
    /// PMI-2: a 6-character length header, then a `;`-separated body.
    case v2
}

extension PMICommand {
    /// Width of the decimal length header that starts each PMI-2 message.
    public static let v2HeaderBytes = 6
    /// MPICH's largest PMI-2 command.
    public static let v2MaximumBodyBytes = 64 * 1024

    /// The PMI-2 wire form: length header and body. A `;` inside a value
    /// is doubled, as Slurm's libpmi2 writes and reads it.
    public var v2Encoded: [UInt8] {
        var body = "cmd=\(name);"
        for field in fields { body += "\(field.key)=\(field.value.split(separator: ";", omittingEmptySubsequences: false).joined(separator: ";;"));" }
        let bytes = Array(body.utf8)
        let length = String(bytes.count)
        return Array((String(repeating: " ", count: max(0, Self.v2HeaderBytes - length.count)) + length).utf8) + bytes
    }

    /// The bytes of this command in `wire`'s form.
    public func encoded(as wire: PMIWire) -> [UInt8] {
        wire == .v1 ? Array(line.utf8) : v2Encoded
    }

    /// Parses a PMI-2 body (what follows the length):
    /// `cmd=NAME;key=value;...;`, where `;;` in a value stands for `;`.
    public static func parseV2(_ body: Substring) throws -> PMICommand {
        var name: String?
        var fields: [(String, String)] = []
        var rest = body[...]
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { throw PMIProtocolError("PMI-2 token '\(rest)' has no '='") }
            let key = String(rest[..<equals])
            guard !key.isEmpty, !key.contains(";") else { throw PMIProtocolError("PMI-2 message '\(body)' has an empty or broken key") }
            var value = ""
            var index = rest.index(after: equals)
            while index < rest.endIndex {
                let character = rest[index]
                let next = rest.index(after: index)
                if character == ";" {
                    guard next < rest.endIndex, rest[next] == ";" else { break }
                    value.append(";")
                    index = rest.index(after: next)
                } else {
                    value.append(character)
                    index = next
                }
            }
            if name == nil && key == "cmd" { name = value } else { fields.append((key, value)) }
            rest = index < rest.endIndex ? rest[rest.index(after: index)...] : rest[rest.endIndex...]
        }
        guard let name, !name.isEmpty else { throw PMIProtocolError("PMI-2 message '\(body)' does not start with cmd=") }
        return PMICommand(name, fields)
    }
}

/// Cuts a PMI connection's bytes into commands, each with its wire form.
public struct PMIMessageFramer: Sendable {
    private var buffer: [UInt8] = []
    /// How far an unfinished `mcmd` block has been searched for its end.
    private var blockScanned = 0
    /// Set by a bad PMI-2 header: nothing after it can be framed again.
    public private(set) var isBroken = false
    /// The longest PMI-1 line accepted.
    public static let maximumLineBytes = 64 * 1024

    /// Makes a framer with nothing buffered.
    public init() {}

    /// Adds bytes read from the connection; call `next()` afterwards to take the
    /// commands they complete.
    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    /// The next whole command, nil until one has arrived; a malformed one
    /// throws, and the bytes after a bad PMI-2 header cannot be trusted
    /// (the connection should be closed).
    public mutating func next() throws -> (command: PMICommand, wire: PMIWire)? {
        while let first = buffer.first, first == UInt8(ascii: "\n") { buffer.removeFirst() }
        guard let first = buffer.first else { return nil }
        let isHeaderByte = { (byte: UInt8) in byte == UInt8(ascii: " ") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        if isHeaderByte(first) {
            guard buffer.count >= PMICommand.v2HeaderBytes else { return nil }
            let header = buffer[..<PMICommand.v2HeaderBytes]
            // MPICH pads on the left ("    38"), Slurm's libpmi2 on the right ("38    ").
            let digits = String(decoding: header.filter { $0 != UInt8(ascii: " ") }, as: UTF8.self)
            guard header.allSatisfy(isHeaderByte), let length = Int(digits), length > 0, length <= PMICommand.v2MaximumBodyBytes else {
                isBroken = true
                throw PMIProtocolError("bad PMI-2 length header '\(String(decoding: header, as: UTF8.self))'")
            }
            guard buffer.count >= PMICommand.v2HeaderBytes + length else { return nil }
            let body = String(decoding: buffer[PMICommand.v2HeaderBytes..<PMICommand.v2HeaderBytes + length], as: UTF8.self)
            buffer.removeFirst(PMICommand.v2HeaderBytes + length)
            return (try PMICommand.parseV2(Substring(body)), .v2)
        }
        if buffer.starts(with: Self.multiLineStart) { return try nextMultiLine() }
        guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else {
            guard buffer.count <= Self.maximumLineBytes else {
                isBroken = true
                throw PMIProtocolError("a PMI-1 line longer than \(Self.maximumLineBytes) bytes")
            }
            return nil
        }
        let line = String(decoding: buffer[..<newline], as: UTF8.self)
        buffer.removeSubrange(...newline)
        return (try PMICommand.parse(Substring(line)), .v1)
    }

    private static let multiLineStart = Array("mcmd=".utf8)
    private static let multiLineEnd = Array("\nendcmd\n".utf8)
    /// The longest `mcmd` block accepted (a spawn's arguments, keys and hints).
    public static let maximumBlockBytes = 1 << 20

    /// An `mcmd=NAME` block: one `key=value` per line up to `endcmd`, a
    /// value running to its line's end (spaces and `=` included).
    /// A line without `=` continues the value before it (an argument with a
    /// newline in it, which MPICH writes as it is).
    private mutating func nextMultiLine() throws -> (command: PMICommand, wire: PMIWire)? {
        // Each arrival is searched from where the last search stopped, less what could hold a split marker.
        let from = max(0, blockScanned - Self.multiLineEnd.count)
        guard let end = buffer[from...].firstRange(of: Self.multiLineEnd) else {
            blockScanned = buffer.count
            guard buffer.count <= Self.maximumBlockBytes else {
                isBroken = true
                throw PMIProtocolError("an mcmd block longer than \(Self.maximumBlockBytes) bytes without endcmd")
            }
            return nil
        }
        blockScanned = 0
        let block = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
        buffer.removeSubrange(..<end.upperBound)
        var fields: [(String, String)] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
            if let equals = line.firstIndex(of: "=") {
                fields.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
            } else if !fields.isEmpty {
                fields[fields.count - 1].1 += "\n" + line
            }
        }
        // The block starts with `mcmd=`, so its first field is the command's name.
        let name = fields.removeFirst().1
        return (PMICommand(name, fields), .v1)
    }
}
