/// A set of host names in the nodeset syntax of ClusterShell and Slurm's
/// hostlists: `node[01-16]`, `a,b,c`, `rack[1-2]-node[1-4/2]`, ranges with
/// steps and zero padding (taken from the range's first number), several
/// bracket groups (their product, the last varying fastest). Names keep
/// their order of first appearance; a repeated name counts once.
///
/// ```swift
/// let nodes = try NodeSet("node[01-03],login")    // node01 node02 node03 login
/// nodes.folded                                   // "login,node[01-03]"
/// ```
public struct NodeSet: Sendable, Hashable, CustomStringConvertible {
    /// The names, expanded, in order of first appearance and without repeats.
    public private(set) var names: [String]

    /// The most names one expression may expand to, so a typo such as
    /// `n[1-999999999]` is an error rather than a machine out of memory.
    public static let maximumNames = 1 << 20

    /// A set of the given names, kept in order; a repeated name is kept once,
    /// at its first place. The names are not checked.
    public init(_ names: [String]) {
        var seen = Set<String>()
        self.names = names.filter { seen.insert($0).inserted }
    }

    /// Expands a nodeset expression; a malformed one is a `HostListError`
    /// that names what is wrong and where.
    public init(_ expression: String) throws {
        var names: [String] = []
        for part in try Self.topLevelParts(of: expression) {
            names += try Self.expand(part)
            guard names.count <= Self.maximumNames else {
                throw HostListError("\(expression): expands to more than \(Self.maximumNames) names")
            }
        }
        self.init(names)
    }

    /// How many distinct names the set holds.
    public var count: Int { names.count }
    /// Whether the set holds no name.
    public var isEmpty: Bool { names.isEmpty }
    /// The folded form, as `folded` writes it.
    public var description: String { folded }

    /// The set written back in brackets, as `nodeset -f` folds it: names
    /// that differ only in their last number share one pattern; patterns
    /// in sorted order. Expanding it gives the same names (sorted).
    public var folded: String {
        var numbered: [String: (suffix: String, numbers: [(value: Int, width: Int)])] = [:]
        var plain: [String] = []
        for name in names {
            guard let split = Self.lastNumber(in: name) else {
                plain.append(name)
                continue
            }
            let key = split.prefix + "\u{0}" + split.suffix
            numbered[key, default: (split.suffix, [])].numbers.append((split.value, split.width))
        }
        var patterns: [String] = plain
        for (key, group) in numbered {
            let prefix = String(key.prefix { $0 != "\u{0}" })
            if group.numbers.count == 1 {
                let only = group.numbers[0]
                patterns.append(prefix + Self.padded(only.value, only.width) + group.suffix)
            } else {
                patterns.append(prefix + "[" + Self.ranges(of: group.numbers) + "]" + group.suffix)
            }
        }
        return patterns.sorted().joined(separator: ",")
    }

    // MARK: Parsing

    /// Splits at commas outside brackets (host lists split their entries so too).
    static func topLevelParts(of expression: String) throws -> [Substring] {
        var parts: [Substring] = []
        var depth = 0
        var start = expression.startIndex
        for index in expression.indices {
            switch expression[index] {
            case "[":
                depth += 1
                guard depth == 1 else { throw HostListError("\(expression): brackets inside brackets") }
            case "]":
                depth -= 1
                guard depth == 0 else { throw HostListError("\(expression): a ']' without its '['") }
            case ",":
                if depth == 0 {
                    parts.append(expression[start..<index])
                    start = expression.index(after: index)
                }
            case " ", "\t", "\n":
                throw HostListError("\(expression): host names hold no spaces")
            default: break
            }
        }
        guard depth == 0 else { throw HostListError("\(expression): a '[' without its ']'") }
        parts.append(expression[start...])
        guard !parts.contains(where: \.isEmpty) else { throw HostListError("\(expression): an empty name (two commas, or one at an end)") }
        return parts
    }

    /// One pattern: literal text and bracket groups, expanded as their product.
    private static func expand(_ pattern: Substring) throws -> [String] {
        var results = [""]
        var rest = pattern
        while !rest.isEmpty {
            guard let open = rest.firstIndex(of: "[") else {
                results = results.map { $0 + rest }
                break
            }
            let literal = rest[..<open]
            guard let close = rest[open...].firstIndex(of: "]") else { throw HostListError("\(pattern): a '[' without its ']'") }
            let values = try numbers(in: rest[rest.index(after: open)..<close], of: pattern)
            guard results.count * values.count <= maximumNames else {
                throw HostListError("\(pattern): expands to more than \(maximumNames) names")
            }
            results = results.flatMap { head in values.map { head + literal + $0 } }
            rest = rest[rest.index(after: close)...]
        }
        for name in results where !isValidName(name) {
            throw HostListError("\(pattern): '\(name)' is not a host name (letters, digits, '-', '_' and '.' only)")
        }
        return results
    }

    /// The contents of one bracket group: `1-3,5,07-09,1-9/2`.
    private static func numbers(in group: Substring, of pattern: Substring) throws -> [String] {
        guard !group.isEmpty else { throw HostListError("\(pattern): empty brackets") }
        var values: [String] = []
        for item in group.split(separator: ",", omittingEmptySubsequences: false) {
            let (range, step) = try rangeAndStep(item, of: pattern)
            let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2, bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
                  let first = Int(bounds[0]), let last = Int(bounds[bounds.count - 1])
            else { throw HostListError("\(pattern): '\(item)' is not a number or a range of numbers") }
            guard first <= last else { throw HostListError("\(pattern): the range \(range) runs backwards") }
            guard (last - first) / step < maximumNames else { throw HostListError("\(pattern): expands to more than \(maximumNames) names") }
            let width = bounds[0].count
            values += stride(from: first, through: last, by: step).map { padded($0, width) }
        }
        return values
    }

    private static func rangeAndStep(_ item: Substring, of pattern: Substring) throws -> (Substring, Int) {
        let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2 else { throw HostListError("\(pattern): '\(item)' has more than one step") }
        guard pieces.count == 2 else { return (item, 1) }
        guard let step = Int(pieces[1]), step >= 1 else { throw HostListError("\(pattern): the step in '\(item)' is not a positive number") }
        return (pieces[0], step)
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name.allSatisfy { $0.isASCIILetterOrDigit || $0 == "-" || $0 == "_" || $0 == "." }
    }

    // MARK: Folding

    /// The last run of digits in a name, with what comes before and after.
    private static func lastNumber(in name: String) -> (prefix: String, value: Int, width: Int, suffix: String)? {
        guard let end = name.lastIndex(where: \.isASCIIDigit) else { return nil }
        var start = end
        while start > name.startIndex, name[name.index(before: start)].isASCIIDigit { start = name.index(before: start) }
        let digits = name[start...end]
        guard digits.count <= 18, let value = Int(digits) else { return nil }
        return (String(name[..<start]), value, digits.count, String(name[name.index(after: end)...]))
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Sorted numbers as `1-3,5`, runs of one width each (so that `01-03`
    /// keeps its padding and `9,10` stays apart from `09`).
    private static func ranges(of numbers: [(value: Int, width: Int)]) -> String {
        let sorted = numbers.sorted { ($0.value, $0.width) < ($1.value, $1.width) }
        var runs: [(first: Int, last: Int, width: Int)] = []
        for number in sorted {
            // A range's members are written padded to its first number's width.
            if let last = runs.last, number.value == last.last + 1, padded(number.value, last.width).count == number.width {
                runs[runs.count - 1].last = number.value
            } else {
                runs.append((number.value, number.value, number.width))
            }
        }
        return runs.map { run in
            run.first == run.last ? padded(run.first, run.width) : padded(run.first, run.width) + "-" + padded(run.last, run.width)
        }.joined(separator: ",")
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
