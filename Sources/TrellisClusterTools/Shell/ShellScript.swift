import TrellisCore
import TrellisHosts

/// One line of a `trellis shell` script, as MPISH read them: a command for
/// every host (or for `@nodeset` ones), or a line the shell itself keeps.
public enum ShellLine: Sendable, Equatable {
    /// A command for each target host's /bin/sh.
    case command(String, hosts: NodeSet?)
    /// `cd DIR`: every later command runs there.
    case changeDirectory(String)
    /// `export K=V ...`.
    case export([(String, String)])
    /// `unset NAME ...`: drops variables that `export` set.
    case unset([String])
    /// `set -e` (stop at the first failure, the default) or `set +e`.
    case stopOnFailure(Bool)
    /// `run -n N PROGRAM ARGS...`: an MPI program over the shell's hosts, PMI from the shell.
    case run(count: Int, program: [String], hosts: NodeSet?)
    /// `stage ... --to DIR` and `sync ... --to DIR` lines.
    case stage([String], hosts: NodeSet?)
    /// The words after `sync`, run as `trellis sync` on the shell's own ranks.
    case sync([String], hosts: NodeSet?)

    /// Compares two lines by their printed form (`export`'s pairs are tuples, which are not `Equatable`).
    public static func == (left: ShellLine, right: ShellLine) -> Bool { "\(left)" == "\(right)" }

    /// Parses one logical line; nil for blank lines and comments.
    public static func parse(_ raw: String) throws -> ShellLine? {
        var text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, !text.hasPrefix("#") else { return nil }
        var hosts: NodeSet?
        if text.hasPrefix("@") {
            let end = text.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? text.endIndex
            let expression = String(text[text.index(after: text.startIndex)..<end])
            do {
                hosts = try NodeSet(expression)
            } catch {
                throw TrellisError(.invalidArgument, "@\(expression): \(error)")
            }
            text = String(text[end...]).trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { throw TrellisError(.invalidArgument, "@\(expression) names hosts but no command") }
        }
        let words = try words(text)
        switch words[0] {
        case "cd" where hosts == nil:
            guard words.count == 2 else { throw TrellisError(.invalidArgument, "cd takes one directory") }
            return .changeDirectory(words[1])
        case "export" where hosts == nil:
            var pairs: [(String, String)] = []
            for word in words.dropFirst() {
                guard let equals = word.firstIndex(of: "="), equals != word.startIndex else { throw TrellisError(.invalidArgument, "export NAME=VALUE, not \(word)") }
                pairs.append((String(word[..<equals]), String(word[word.index(after: equals)...])))
            }
            return .export(pairs)
        case "unset" where hosts == nil:
            return .unset(Array(words.dropFirst()))
        case "set" where hosts == nil && words.count == 2 && (words[1] == "-e" || words[1] == "+e"):
            return .stopOnFailure(words[1] == "-e")
        case "run":
            guard words.count >= 4, words[1] == "-n", let count = Int(words[2]), count >= 1 else {
                throw TrellisError(.invalidArgument, "run -n N PROGRAM [ARGS...]")
            }
            return .run(count: count, program: Array(words.dropFirst(3)), hosts: hosts)
        case "stage":
            return .stage(Array(words.dropFirst()), hosts: hosts)
        case "sync":
            return .sync(Array(words.dropFirst()), hosts: hosts)
        default:
            return .command(text, hosts: hosts)
        }
    }

    /// Words as sh splits them: blanks separate, single quotes keep all, double
    /// quotes keep all but `\"` and `\\`, a backslash keeps the next character.
    /// (No expansion: commands go to each host's /bin/sh whole, which expands them there.)
    static func words(_ text: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var characters = text.makeIterator()
        while let character = characters.next() {
            switch character {
            case " ", "\t":
                if inWord { words.append(current) }
                current = ""
                inWord = false
            case "'":
                inWord = true
                var closed = false
                while let next = characters.next() {
                    if next == "'" { closed = true; break }
                    current.append(next)
                }
                guard closed else { throw TrellisError(.invalidArgument, "a single quote is not closed: \(text)") }
            case "\"":
                inWord = true
                var closed = false
                while let next = characters.next() {
                    if next == "\"" { closed = true; break }
                    if next == "\\", let escaped = characters.next() {
                        if escaped != "\"" && escaped != "\\" { current.append("\\") }
                        current.append(escaped)
                        continue
                    }
                    current.append(next)
                }
                guard closed else { throw TrellisError(.invalidArgument, "a double quote is not closed: \(text)") }
            case "\\":
                inWord = true
                if let next = characters.next() { current.append(next) }
            default:
                inWord = true
                current.append(character)
            }
        }
        if inWord { words.append(current) }
        return words
    }

    /// The logical lines of a script: `\` at the end of a line joins the next.
    public static func logicalLines(_ script: String) -> [(number: Int, text: String)] {
        var lines: [(Int, String)] = []
        var pending = ""
        var start = 0
        for (index, line) in script.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if pending.isEmpty { start = index + 1 }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            lines.append((start, pending + line))
            pending = ""
        }
        if !pending.isEmpty { lines.append((start, pending)) }
        return lines
    }
}
