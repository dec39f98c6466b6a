import TrellisCore
import TrellisNames

/// The name service's table as a pure value: service names mapped to port
/// names, each held on a lease by the process that published it.
///
/// A publisher renews all its leases at once (one heartbeat per process, not
/// per name); names whose lease ran out are dropped by `expire(now:)`, so a
/// dead publisher's names vanish within one lease time and a client never
/// gets a dead port for long. Times are monotonic nanoseconds, passed in, so
/// the table is deterministic under test.
public struct NameRegistry: Sendable {
    /// One name and its lease, as the wire protocol lists it.
    public typealias Entry = NameEntry

    /// How long a name lives without a renewal.
    public let leaseNanoseconds: UInt64
    /// The most names the table holds; publishing a new name beyond it fails with `full`.
    public let maximumNames: Int
    private(set) var entries: [String: Entry] = [:]

    /// An empty table whose leases last `leaseSeconds` (at least a millisecond).
    public init(leaseSeconds: Double, maximumNames: Int = 1_000_000) {
        leaseNanoseconds = UInt64(max(leaseSeconds, 0.001) * 1e9)
        self.maximumNames = maximumNames
    }

    /// Why the table refused a request; its `description` is the message a client gets.
    public enum Failure: Error, Equatable, Sendable {
        /// A service or port name that is empty, over 256 bytes, or not printable ASCII without spaces.
        case invalidName(String)
        /// Another live publisher holds the name (MPI_ERR_SERVICE).
        case alreadyPublished(service: String, by: String)
        /// No live publication of the name.
        case notPublished(String)
        /// The name belongs to another publisher, which alone may withdraw it.
        case notOwner(service: String, owner: String)
        /// The table holds its limit of names.
        case full(Int)
    }

    /// Publishes or refreshes a name. A name held by another live publisher
    /// is refused (MPI_ERR_SERVICE); its own publisher may publish it again.
    public mutating func publish(service: String, port: String, publisher: String, now: UInt64) throws(Failure) {
        try Self.validate(service)
        try Self.validate(port)
        if let existing = entries[service], existing.publisher != publisher, existing.expiresAtNanoseconds > now {
            throw .alreadyPublished(service: service, by: existing.publisher)
        }
        if entries[service] == nil && entries.count >= maximumNames { throw .full(maximumNames) }
        entries[service] = Entry(service: service, port: port, publisher: publisher, expiresAtNanoseconds: now &+ leaseNanoseconds)
    }

    /// Withdraws a name; throws `notPublished` when there is none and `notOwner` when another
    /// publisher holds it.
    public mutating func unpublish(service: String, publisher: String) throws(Failure) {
        guard let existing = entries[service] else { throw .notPublished(service) }
        guard existing.publisher == publisher else { throw .notOwner(service: service, owner: existing.publisher) }
        entries[service] = nil
    }

    /// The port of a live name.
    public func lookup(service: String, now: UInt64) throws(Failure) -> String {
        guard let entry = entries[service], entry.expiresAtNanoseconds > now else { throw .notPublished(service) }
        return entry.port
    }

    /// Extends every lease the publisher holds; returns how many.
    @discardableResult
    public mutating func renew(publisher: String, now: UInt64) -> Int {
        var renewed = 0
        for (service, entry) in entries where entry.publisher == publisher {
            entries[service]!.expiresAtNanoseconds = now &+ leaseNanoseconds
            renewed += 1
        }
        return renewed
    }

    /// Drops every name of a publisher that is known to be gone.
    public mutating func forget(publisher: String) -> [String] {
        let gone = entries.values.filter { $0.publisher == publisher }.map(\.service)
        for service in gone { entries[service] = nil }
        return gone.sorted()
    }

    /// Drops names whose lease ran out; returns them.
    public mutating func expire(now: UInt64) -> [String] {
        let gone = entries.values.filter { $0.expiresAtNanoseconds <= now }.map(\.service)
        for service in gone { entries[service] = nil }
        return gone.sorted()
    }

    /// Live names, sorted by service name.
    public func list(now: UInt64) -> [Entry] {
        entries.values.filter { $0.expiresAtNanoseconds > now }.sorted { $0.service < $1.service }
    }

    /// Names and ports are printable, without spaces, at most 256 bytes.
    static func validate(_ text: String) throws(Failure) {
        guard !text.isEmpty, text.utf8.count <= 256,
            text.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 })
        else { throw .invalidName(text) }
    }
}

extension NameRegistry.Failure: CustomStringConvertible {
    /// A message naming the service and the reason.
    public var description: String {
        switch self {
        case .invalidName(let name): return "'\(name)' is not a valid name (1-256 printable ASCII characters, no spaces)"
        case .alreadyPublished(let service, let by): return "'\(service)' is already published by \(by)"
        case .notPublished(let service): return "no live publication of '\(service)'"
        case .notOwner(let service, let owner): return "'\(service)' is published by \(owner), not by the caller"
        case .full(let limit): return "the name service holds its limit of \(limit) names"
        }
    }
}
