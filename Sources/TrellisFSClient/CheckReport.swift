import TrellisFSProtocol

/// One problem fsck found, and what became of it.
public struct CheckFinding: Sendable, Codable, Equatable {
    /// What kind of problem; the raw values are what `trellis fsck --json` prints.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// An entry naming an object that does not exist.
        case danglingEntry = "dangling-entry"
        /// A file, directory or symlink that no entry names (moved to /lost+found).
        case orphanObject = "orphan-object"
        /// A file or symlink whose link count is not the number of entries naming it.
        case wrongLinkCount = "wrong-link-count"
        /// A datafile object that no file lists.
        case orphanDatafile = "orphan-datafile"
        /// A bstream whose datafile object is gone.
        case orphanBstream = "orphan-bstream"
        /// A file listing a datafile its server lost, so its size cannot be
        /// worked out (restored empty: that part of the file reads as a hole).
        case sizeMismatch = "size-mismatch"
    }

    /// What kind of problem.
    public var kind: Kind
    /// The object or datafile concerned.
    public var handle: String
    /// The server that holds it (-1 when the handle names none).
    public var server: Int
    /// The path it has (or had), when fsck could name it.
    public var path: String?
    /// What was found, in words, naming what was expected.
    public var detail: String
    /// Whether `--repair` fixed it.
    public var repaired: Bool

    /// A finding not yet repaired.
    public init(kind: Kind, handle: ObjectHandle, path: String?, detail: String) {
        self.kind = kind
        self.handle = handle.description
        self.server = handle.server ?? -1
        self.path = path
        self.detail = detail
        repaired = false
    }
}

/// What one fsck run found, checked and skipped.
public struct CheckReport: Sendable, Codable {
    /// Servers of the file system.
    public var servers: Int
    /// Servers that did not answer: checks that need them were skipped.
    public var unreachableServers: [Int] = []
    /// The checks left out because a server they need did not answer, in words.
    public var skippedChecks: [String] = []
    /// Objects read from every server that answered.
    public var objectsScanned = 0
    /// Directory entries read from every server that answered.
    public var entriesScanned = 0
    /// Every problem found, repaired or not.
    public var findings: [CheckFinding] = []

    /// An empty report for a file system of `servers` servers.
    public init(servers: Int) { self.servers = servers }

    /// Findings not repaired.
    public var problemsLeft: Int { findings.filter { !$0.repaired }.count }

    /// fsck(8)'s exit codes: 0 clean, 1 problems found and all repaired, 4 problems left.
    public var exitCode: Int32 {
        if problemsLeft > 0 { return 4 }
        return findings.isEmpty ? 0 : 1
    }
}
