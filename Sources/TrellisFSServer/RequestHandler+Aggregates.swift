import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

/// Aggregate operations (seed 000 §7, Fig. 3): one request from the client,
/// the owner fans the datafile work out to the other servers, one reply.
extension RequestHandler {
    /// A file with every datafile made now: this server's in the commit
    /// that makes the file, the others' first, through one fan-out. If the
    /// commit fails, the others are removed again.
    func createSpreadFile(
        _ parent: ObjectHandle, _ name: String, _ mode: UInt32, _ requested: Distribution?, _ credentials: Credentials, steps: inout Int
    ) throws -> ObjectAttributes {
        var made: [ObjectHandle] = []
        do {
            return try makeFile(parent, name, mode, requested, credentials) { distribution in
                let slots = try datafileSlots(distribution, from: 0, steps: &steps)
                made = slots.compactMap { $0 }
                return slots
            }
        } catch {
            _ = try? removeDatafiles(made, steps: &steps)
            throw error
        }
    }

    /// Spreads a stuffed file with datafiles this server makes (here and
    /// through a fan-out) rather than ones the client made.
    func spreadFile(_ handle: ObjectHandle, _ credentials: Credentials, steps: inout Int) throws -> ObjectAttributes {
        let file = try writableFile(handle, credentials)
        guard file.isStuffed, let distribution = file.distribution else { throw FSError(.exists, "file \(handle) has all its datafiles already") }
        let slots = try datafileSlots(distribution, from: file.datafiles.count, steps: &steps)
        do {
            return try context.metadata.spread(handle, adding: slots, at: context.now())
        } catch {
            _ = try? removeDatafiles(slots.compactMap { $0 }, steps: &steps)
            throw error
        }
    }

    /// Datafiles `first...` of a distribution placed from this server: nil
    /// for those that live here (made in the caller's commit), handles made
    /// through a fan-out for the rest.
    private func datafileSlots(_ distribution: Distribution, from first: Int, steps: inout Int) throws -> [ObjectHandle?] {
        let placement = (first..<distribution.datafileCount).map { distribution.server(ofDatafile: $0, serverCount: context.configuration.servers.count) }
        let remote = placement.filter { $0 != context.serverIndex }
        var made = try remote.isEmpty ? [] : makeDatafiles(on: remote, steps: &steps)
        made.reverse()
        return placement.map { $0 == context.serverIndex ? nil : made.popLast() }
    }

    /// unlink in one request: entry and metadata (or one of its links) in
    /// one commit, then, at the last link, every datafile through one
    /// fan-out, then the reply. An entry whose object
    /// lives on another server is the client's to remove step by step.
    func removeFile(_ parent: ObjectHandle, _ name: String, _ credentials: Credentials, steps: inout Int) throws -> Unlinked {
        let directory = try directory(parent, credentials, write: true)
        guard let entry = try context.metadata.entry(in: parent, named: EntryName.validate(name)) else {
            throw FSError(.notFound, "\(name) does not exist in directory \(parent)")
        }
        guard entry.kind != .directory else { throw FSError(.isDirectory, "\(name) in directory \(parent) is a directory: use rmdir") }
        guard entry.handle.server == context.serverIndex else {
            throw FSError(.invalidArgument, "\(name) in directory \(parent) lives on server \(entry.handle.server.map(String.init) ?? "?"); remove it with removeEntry and removeObject")
        }
        let target = try context.metadata.attributes(of: entry.handle)
        try checkSticky(directory, entryOwner: target?.uid ?? credentials.uid, credentials)
        let unlinked = try context.metadata.remove(named: name, in: parent, unlinking: target?.handle, at: context.now())
        guard let deleted = unlinked.deleted, !deleted.datafiles.isEmpty else { return unlinked }
        let failures = try removeDatafiles(deleted.datafiles, steps: &steps)
        if !failures.isEmpty {
            context.log("removing the datafiles of \(deleted.handle) left some for fsck: \(failures.joined(separator: "; "))")
        }
        return unlinked
    }

    /// Attributes with the file's size gathered from its data servers.
    func stat(_ handle: ObjectHandle, steps: inout Int) throws -> ObjectAttributes {
        var attributes = try withLocalSize(try object(handle))
        guard !attributes.sizeIsKnown, let distribution = attributes.distribution else { return attributes }
        attributes.size = distribution.logicalSize(datafileSizes: try datafileSizes(attributes.datafiles, steps: &steps))
        attributes.sizeIsKnown = true
        return attributes
    }
}
