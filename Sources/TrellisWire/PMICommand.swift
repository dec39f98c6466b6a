/// One line of the PMI-1 wire protocol, as MPICH's simple PMI speaks it:
/// space-separated `key=value` pairs ended by a newline, `cmd` first.
///
/// ```
/// cmd=put kvsname=job-1 key=addr-0 value=127.0.0.1:4000
/// ```
/// The launcher serves this protocol so that both Trellis ranks and MPICH
/// programs can bootstrap from it.
public struct PMICommand: Equatable, Sendable, CustomStringConvertible {
    /// The command, the value of `cmd=` (or `mcmd=`), such as `put`, `get` or `barrier_in`.
    public var name: String
    /// The other `key=value` pairs, in the order they appear on the line.
    public var fields: [(key: String, value: String)]

    /// Makes a command from its name and its `key=value` pairs, in order.
    public init(_ name: String, _ fields: [(String, String)] = []) {
        self.name = name
        self.fields = fields.map { (key: $0.0, value: $0.1) }
    }

    /// The value of the first field named `key`, or `nil` when there is none.
    public subscript(key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    /// The wire form, newline included.
    public var line: String {
        var parts = ["cmd=\(name)"]
        parts += fields.map { "\($0.key)=\($0.value)" }
        return parts.joined(separator: " ") + "\n"
    }

    /// The wire form without its newline.
    public var description: String { String(line.dropLast()) }

    /// Parses one line (without its newline). MPICH also sends `mcmd=` lines
    /// for spawn; they parse the same way with the name taken from `mcmd`.
    public static func parse(_ line: Substring) throws -> PMICommand {
        var name: String?
        var fields: [(String, String)] = []
        for token in line.split(separator: " ", omittingEmptySubsequences: true) {
            guard let equals = token.firstIndex(of: "=") else {
                throw PMIProtocolError("token '\(token)' has no '='")
            }
            let key = String(token[..<equals])
            let value = String(token[token.index(after: equals)...])
            if name == nil && (key == "cmd" || key == "mcmd") {
                name = value
            } else {
                fields.append((key, value))
            }
        }
        guard let name else { throw PMIProtocolError("line '\(line)' has no cmd=") }
        return PMICommand(name, fields)
    }

    /// Equal when names and fields, in order, are equal.
    public static func == (lhs: PMICommand, rhs: PMICommand) -> Bool {
        lhs.name == rhs.name && lhs.fields.map(\.key) == rhs.fields.map(\.key)
            && lhs.fields.map(\.value) == rhs.fields.map(\.value)
    }
}

/// A PMI line that cannot be parsed, such as a token without `=` or a line
/// without `cmd=`.
public struct PMIProtocolError: Error, CustomStringConvertible, Sendable {
    /// What is wrong with the line, prefixed with "PMI protocol: ".
    public let description: String
    /// Makes an error from a description of the problem; the prefix is added.
    public init(_ description: String) { self.description = "PMI protocol: " + description }
}
