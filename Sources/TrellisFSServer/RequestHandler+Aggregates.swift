import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

/// Aggregate operations (§7 and Fig. 3 of the persistent-services paper,
/// Latham, Ross and Thakur, "Can MPI Be Used for Persistent Parallel
/// Services?"): one request from the client, the owner fans the datafile
/// work out to the other servers, one reply.
extension RequestHandler {
    /// A file with every datafile made now: this server's in the commit
    /// that makes the file, the others' first, through one fan-out (or
    /// `prepared` before a commit of the request's own). If the commit
    /// fails, the others are removed again (prepared ones by their preparer).
    /// A file stuffed where its bytes may live with its metadata (their
    /// copies are the file system's own) is made with one datafile, here.
    func createSpreadFile(
        _ parent: ObjectHandle, _ name: String, _ mode: UInt32, _ requested: Distribution?, stuffed: Bool = false, _ credentials: Credentials,
        prepared: PreparedDatafiles? = nil, steps: inout Int
    ) throws -> Created {
        var slots = DatafileSlots()
        do {
            return try makeFile(parent, name, mode, requested, credentials) { distribution in
                if stuffed, context.configuration.firstGroup(copies: distribution.copies) == 0 { return [nil] }
                if let prepared, prepared.distribution == distribution {
                    prepared.taken = true
                    steps = max(steps, prepared.steps)
                    return prepared.slots.handles
                }
                slots = try datafileSlots(distribution, from: 0, steps: &steps)
                return slots.handles
            }
        } catch {
            // Prepared datafiles are given back by whoever prepared them, once its commit is over.
            prepared?.taken = false
            giveBack(slots, steps: &steps)
            throw error
        }
    }

    /// The remote datafiles a create of `name` in `parent` will need, made
    /// or taken from the pool before the commit that makes the file opens.
    func datafilesBeforeCommit(
        _ parent: ObjectHandle, _ name: String, _ requested: Distribution?, stuffed: Bool, _ credentials: Credentials
    ) throws -> PreparedDatafiles? {
        let distribution = try newFileDistribution(in: try directory(parent, credentials, write: true), requested)
        // Datafiles for a name that is taken would only be removed again.
        if try context.metadata.entry(in: parent, named: EntryName.validate(name)) != nil {
            throw FSError(.exists, "\(name) exists in directory \(parent)")
        }
        if stuffed, context.configuration.firstGroup(copies: distribution.copies) == 0 { return nil }
        var steps = 1
        let slots = try datafileSlots(distribution, from: 0, steps: &steps)
        return PreparedDatafiles(distribution: distribution, slots: slots, steps: steps)
    }

    /// Spreads a stuffed file with datafiles this server makes (here and
    /// through a fan-out) rather than ones the client made.
    func spreadFile(_ handle: ObjectHandle, _ credentials: Credentials, steps: inout Int) throws -> ObjectAttributes {
        let file = try writableFile(handle, credentials)
        guard file.isStuffed, let distribution = file.distribution else { throw FSError(.exists, "file \(handle) has all its datafiles already") }
        let slots = try datafileSlots(distribution, from: file.datafiles.count, steps: &steps)
        do {
            return try context.metadata.spread(handle, adding: slots.handles, at: context.now())
        } catch {
            giveBack(slots, steps: &steps)
            throw error
        }
    }

    /// Datafiles `first...` of a distribution placed from this server: nil
    /// for those that live here (made in the caller's commit), the others
    /// from the pool or, where it has none, made through one fan-out.
    private func datafileSlots(_ distribution: Distribution, from first: Int, steps: inout Int) throws -> DatafileSlots {
        let placement = try (first..<distribution.datafileCount).map { try context.configuration.group(ofDatafile: $0, of: distribution) }
        let remote = placement.filter { $0 != context.serverIndex }
        var slots = DatafileSlots()
        // The pools hold datafiles of the metadata groups only; a data group's are made when asked for.
        let poolable = remote.filter { context.configuration.metadataGroups.contains($0) }
        var fromPool = Array((try context.pool?.take(servers: poolable) ?? poolable.map { _ in nil }).reversed())
        var pooled = remote.map { context.configuration.metadataGroups.contains($0) ? fromPool.popLast()! : nil }
        slots.pooled = pooled.compactMap { $0 }
        let missing = zip(remote, pooled).filter { $0.1 == nil }.map(\.0)
        do {
            slots.made = try missing.isEmpty ? [] : makeDatafiles(on: missing, steps: &steps)
        } catch {
            giveBack(slots, steps: &steps)
            throw error
        }
        var made = Array(slots.made.reversed())
        pooled.reverse()
        slots.handles = placement.map { server in
            guard server != context.serverIndex else { return nil }
            return pooled.popLast()! ?? made.popLast()
        }
        return slots
    }

    /// Datafiles a failed create or spread took: pooled ones go back to the
    /// pool, freshly made ones are removed (what is left, fsck finds).
    func giveBack(_ slots: DatafileSlots, steps: inout Int) {
        if !slots.pooled.isEmpty { context.pool?.giveBack(slots.pooled) }
        if !slots.made.isEmpty { _ = try? removeDatafiles(slots.made, steps: &steps) }
    }

    /// unlink in one request: entry and metadata (or one of its links) in
    /// one commit, then, at the last link, every datafile through one
    /// fan-out, then the reply. An entry whose object
    /// lives on another server is the client's to remove step by step.
    func removeFile(
        _ parent: ObjectHandle, _ name: String, _ credentials: Credentials, steps: inout Int, followUps: inout [FollowUp]
    ) throws -> RemoveFile.Outcome {
        let directory = try directory(parent, credentials, write: true)
        guard let entry = try context.metadata.entry(in: parent, named: EntryName.validate(name)) else {
            throw FSError(.notFound, "\(name) does not exist in directory \(parent)")
        }
        guard entry.kind != .directory else { throw FSError(.isDirectory, "\(name) in directory \(parent) is a directory: use rmdir") }
        guard let server = entry.handle.server else { throw FSError(.staleHandle, "\(name) in directory \(parent) names handle \(entry.handle) of no server") }
        // The client removes an object of another server step by step (removeEntry, then removeObject there).
        guard server == context.serverIndex else { return .objectOnServer(UInt32(server)) }
        let target = try context.metadata.attributes(of: entry.handle)
        try checkSticky(directory, entryOwner: target?.uid ?? credentials.uid, credentials)
        let unlinked = try context.metadata.remove(named: name, in: parent, unlinking: target?.handle, at: context.now())
        guard let deleted = unlinked.deleted, !deleted.datafiles.isEmpty else { return .removed(linksLeft: unlinked.remainingLinks) }
        if context.metadata.holdsOpenGroup {
            // Inside a commit no thread may wait on a peer: this server's go with the file, the others' once the commit is over.
            let remote = deleted.datafiles.filter { $0.server != context.serverIndex }
            removeDatafilesOfRemovedFile(deleted.datafiles.filter { $0.server == context.serverIndex }, steps: &steps)
            if !remote.isEmpty { followUps.append(.removeDatafiles(remote)) }
        } else {
            removeDatafilesOfRemovedFile(deleted.datafiles, steps: &steps)
        }
        return .removed(linksLeft: unlinked.remainingLinks)
    }

    /// Attributes with the file's size gathered from its data servers.
    func stat(_ handle: ObjectHandle, steps: inout Int) throws -> ObjectAttributes {
        var attributes = try withLocalSize(try object(handle))
        guard !attributes.sizeIsKnown, let distribution = attributes.distribution else { return attributes }
        attributes.size = distribution.logicalSize(datafileSizes: try datafileSizes(attributes.datafiles, steps: &steps))
        attributes.sizeIsKnown = true
        return attributes
    }

    /// Removes the datafiles of a removed file wherever they are; what fails is logged (fsck finds them).
    func removeDatafilesOfRemovedFile(_ datafiles: [ObjectHandle], steps: inout Int) {
        do {
            let failures = try removeDatafiles(datafiles, steps: &steps)
            if !failures.isEmpty { context.log("removing \(datafiles.count) datafiles of a removed file left some for fsck: \(failures.joined(separator: "; "))") }
        } catch {
            context.log("removing \(datafiles.count) datafiles of a removed file left them for fsck: \(error)")
        }
    }
}

/// The remote datafiles of a create, made before its commit opened, for
/// the distribution it computed then; the commit marks them taken when the
/// file it makes has that distribution still.
final class PreparedDatafiles: @unchecked Sendable {
    let distribution: Distribution
    let slots: DatafileSlots
    /// Message time steps their making took.
    let steps: Int
    /// Whether the commit's file took them (set on the thread that runs the commit, read after it).
    var taken = false

    init(distribution: Distribution, slots: DatafileSlots, steps: Int) {
        self.distribution = distribution
        self.slots = slots
        self.steps = steps
    }
}

/// The remote datafiles of a new or spreading file, by slot, and where each came from.
struct DatafileSlots {
    var handles: [ObjectHandle?] = []
    var pooled: [ObjectHandle] = []
    var made: [ObjectHandle] = []
}
