import TrellisFSProtocol

/// One problem fsck found, and what became of it.
public struct CheckFinding: Sendable, Codable, Equatable {
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

    public var kind: Kind
    /// The object or datafile concerned.
    public var handle: String
    public var server: Int
    /// The path it has (or had), when fsck could name it.
    public var path: String?
    public var detail: String
    public var repaired: Bool

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
    public var servers: Int
    /// Servers that did not answer: checks that need them were skipped.
    public var unreachableServers: [Int] = []
    public var skippedChecks: [String] = []
    public var objectsScanned = 0
    public var entriesScanned = 0
    public var findings: [CheckFinding] = []

    public init(servers: Int) { self.servers = servers }

    public var problemsLeft: Int { findings.filter { !$0.repaired }.count }

    /// fsck(8)'s exit codes: 0 clean, 1 problems found and all repaired, 4 problems left.
    public var exitCode: Int32 {
        if problemsLeft > 0 { return 4 }
        return findings.isEmpty ? 0 : 1
    }
}
