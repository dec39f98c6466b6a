import NIOCore
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisCore
import TrellisFSStorage

/// Turns one request into its reply, against this server's stores. Every
/// failure becomes an error reply that names what failed; nothing a client
/// sends can stop the server.
public struct RequestHandler: Sendable {
    /// The stores, configuration, peers and clock it works on.
    public let context: ServerContext
    let metrics: ServerMetrics

    /// A handler over `context`, with its metrics labelled by the file system and server.
    public init(context: ServerContext) {
        self.context = context
        metrics = ServerMetrics(fileSystem: context.configuration.name, server: context.serverIndex)
    }

    /// The reply to one request (an error reply when it fails, never a throw), and the work to do once it is sent.
    /// A request that must not be done twice is answered from the record
    /// when it was done before, and its reply recorded when not (in the
    /// caller's group commit, when there is one, so with its change).
    /// With `callerTakesPassage` (a serving loop that holds the reply) it
    /// does not wait for its change to reach the secondaries.
    public func handle(_ asked: FSRequestEnvelope, callerTakesPassage: Bool = false) -> (reply: FSReplyEnvelope, followUps: [FollowUp]) {
        handle(asked, callerTakesPassage: callerTakesPassage, prepared: nil)
    }

    /// `handle`, with the datafiles a create inside a commit takes (made before the commit opened).
    func handle(_ asked: FSRequestEnvelope, callerTakesPassage: Bool, prepared: PreparedDatafiles?) -> (reply: FSReplyEnvelope, followUps: [FollowUp]) {
        var envelope = asked
        let kind = type(of: envelope.operation)
        // Before anything else: who may not ask learns nothing of this copy's role.
        // One signature check per request, whatever it then needs to know of its capability.
        let fromServers = carriesServersCapability(envelope)
        if let refusal = capabilityRefusal(envelope, fromServers: fromServers) {
            return (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(refusal)), [])
        }
        do {
            envelope.credentials = try context.identity.credentials(for: envelope, fromServers: fromServers)
            // The credentials are the effective ones now: a nested pass (`handleInOneCommit`) takes them as they are.
            envelope.origin = nil
        } catch {
            return (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(error as? FSError ?? FSError(.notPermitted, "\(error)"))), [])
        }
        let knownEpoch = context.replication?.epochs.entry(context.serverIndex)?.epoch
        if let refusal = context.role.refusal(of: kind, group: context.serverIndex, relayEpoch: envelope.relayEpoch, knownEpoch: knownEpoch) {
            return (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(refusal)), [])
        }
        let recorded = kind.isRecorded && envelope.clientID != 0
        if recorded, let earlier = recordedReply(to: envelope) {
            // The change it answers may not have reached every copy (its shipping failed): not before they all have it.
            if let secondaries = context.secondaries, context.role.isPrimary {
                do {
                    try secondaries.catchUp()
                } catch let error as FSError {
                    return (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(error)), [])
                } catch {
                    return (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(FSError(.ioError, "\(error)"))), [])
                }
            }
            metrics.repliesFromRecord.increment()
            return (earlier, [])
        }
        let started = MonotonicClock.nanoseconds()
        var call = ServerCall(credentials: envelope.credentials, prepared: prepared)
        let result: Result<ByteBuffer, FSError>
        if let served = envelope.operation as? any ServedOperation {
            if recorded, context.replication != nil, !context.metadata.holdsOpenGroup, type(of: served).peersNeverCallBack {
                // Outside a group commit (on a thread of its own): the change and the record of its reply in one commit.
                return handleInOneCommit(envelope, served)
            }
            result = served.answer(self, &call)
        } else {
            result = .failure(FSError(.notSupported, "server \(context.serverIndex) does not serve \(kind.name)"))
        }
        let failure: FSError.Code?
        if case .failure(let error) = result { failure = error.code } else { failure = nil }
        if case .failure(let error) = result, envelope.relayEpoch != nil, [.noSpace, .ioError].contains(error.code) {
            // A copy that cannot store its primary's changes steps down (the primary's own
            // refusal is the client's answer, as with one copy); it is resynced once it can.
            context.role.noteStorageFailure("\(kind.name): \(error.message)")
        }
        let reply = FSReplyEnvelope(requestID: envelope.requestID, result: consume result, steps: UInt32(call.steps))
        // Only a change that was made is recorded: a request that failed changed nothing here, and a
        // failure such as a replica being replaced must not be the answer to every resend.
        if recorded, failure == nil {
            do {
                try context.metadata.recordReply(
                    Array(reply.encoded().readableBytesView), client: envelope.clientID, request: envelope.requestID, at: context.now())
            } catch {
                // The change stands; only a resend of this request would be done again.
                context.log("could not record the reply to request \(envelope.requestID) of client \(envelope.clientID): \(error)")
            }
        }
        // Committed here (in commits of its own, outside a group) but not on every replica: recorded as done,
        // answered once every copy has it (the resend). In a group nothing is committed yet: the loop waits.
        let unpassed = context.metadata.holdsOpenGroup || callerTakesPassage ? nil : context.secondaries?.waitForCommits()
        metrics.record(kind, nanoseconds: MonotonicClock.nanoseconds() &- started, error: failure)
        if let unpassed, failure == nil {
            return (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(unpassed), steps: UInt32(call.steps)), call.followUps)
        }
        return (reply, call.followUps)
    }

    /// `handle` inside one commit of its own, whose failure to reach the replicas is answered as the failure.
    /// No thread waits on a peer while it holds the database (a peer's
    /// request may need this very server's serving thread, which may be
    /// waiting for the database): a create's remote datafiles are made or
    /// taken before the commit opens, and a removed file's are removed
    /// after it, before the reply.
    private func handleInOneCommit(_ envelope: FSRequestEnvelope, _ served: any ServedOperation) -> (reply: FSReplyEnvelope, followUps: [FollowUp]) {
        func failure(_ error: any Error) -> (reply: FSReplyEnvelope, followUps: [FollowUp]) {
            (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(error as? FSError ?? FSError(.ioError, "\(error)"))), [])
        }
        // The directory's layout may change between the two, so the file made needs other datafiles: a few tries.
        for _ in 0..<Self.triesForDatafilesAtHand {
            let prepared: PreparedDatafiles?
            do {
                prepared = try served.datafilesBeforeCommit(self, envelope.credentials)
            } catch {
                return failure(error)
            }
            let committed = Result { try context.metadata.sharingOneCommit { handle(envelope, callerTakesPassage: false, prepared: prepared) } }
            // Datafiles no file holds (a failed or resent create, or a commit rolled back) go back.
            if let prepared, !prepared.taken || (try? committed.get()) == nil {
                var steps = 0
                giveBack(prepared.slots, steps: &steps)
            }
            var answer: (reply: FSReplyEnvelope, followUps: [FollowUp])
            do {
                answer = try committed.get()
            } catch {
                return failure(error)
            }
            if case .failure(let error) = answer.reply.result, error.code == .needsPeers { continue }
            var steps = Int(answer.reply.steps)
            answer.followUps = answer.followUps.filter { followUp in
                guard case .removeDatafiles(let datafiles) = followUp else { return true }
                removeDatafilesOfRemovedFile(datafiles, steps: &steps)
                return false
            }
            answer.reply.steps = UInt32(steps)
            if let unpassed = context.secondaries?.waitForCommits(), case .success = answer.reply.result {
                return (FSReplyEnvelope(requestID: envelope.requestID, result: .failure(unpassed), steps: answer.reply.steps), answer.followUps)
            }
            return answer
        }
        return failure(FSError(.serverUnavailable, "server \(context.serverIndex) found its peers' datafiles for a new file changing in \(Self.triesForDatafilesAtHand) tries"))
    }

    /// How often a create in a commit of its own makes its datafiles anew when its directory's layout changed meanwhile.
    static let triesForDatafilesAtHand = 3

    private func recordedReply(to envelope: FSRequestEnvelope) -> FSReplyEnvelope? {
        guard let body = try? context.metadata.recordedReply(client: envelope.clientID, request: envelope.requestID),
              let reply = try? FSReplyEnvelope.decode(ByteBuffer(bytes: body))
        else { return nil }
        return reply
    }

    /// Whether this server has a handler for operations of `kind` (every
    /// one `FSOperations.all` lists must).
    public static func serves(_ kind: any FSOperation.Type) -> Bool { kind is any ServedOperation.Type }

    /// Whether answering may wait on other servers: the serving loop hands
    /// these to a thread of their own so it never blocks on a peer. A file
    /// whose datafiles all live here (every stuffed file) needs no peer to
    /// be removed or sized, so those stay in the loop and its group commit.
    /// Whether `operation` takes the database for a transaction of its own, outside any shared commit.
    func runsAlone(_ operation: any FSOperation) -> Bool {
        (type(of: operation) as? any ServedOperation.Type)?.runsAlone ?? false
    }

    public func mayWaitOnPeers(_ operation: any FSOperation) -> Bool {
        (operation as? any ServedOperation)?.mayWaitOnPeers(self) ?? false
    }

    /// Whether `name` in `parent` names an object of another server.
    func namesRemoteObject(_ parent: ObjectHandle, _ name: String) -> Bool {
        guard let entry = try? context.metadata.entry(in: parent, named: name) else { return false }
        return entry.handle.server != context.serverIndex
    }

    /// Whether `handle` is an object of this server whose datafiles are all here too.
    func hasOnlyLocalDatafiles(_ handle: ObjectHandle) -> Bool {
        guard handle.server == context.serverIndex, let attributes = try? context.metadata.attributes(of: handle) else { return false }
        return attributes.datafiles.allSatisfy { $0.server == context.serverIndex }
    }

    /// The reply to a dropped link, with the removal of a deleted file's bstreams here to follow it.
    func unlinkedReply(_ unlinked: Unlinked, _ followUps: inout [FollowUp]) -> LinksLeft {
        if let followUp = localBstreams(unlinked) { followUps.append(followUp) }
        guard let deleted = unlinked.deleted, deleted.kind == .file, deleted.datafiles.contains(where: { $0.server != context.serverIndex }) else {
            return LinksLeft(unlinked.remainingLinks)
        }
        // The client deletes the datafiles this server does not hold: this much and no more.
        return LinksLeft(unlinked.remainingLinks, removal: capability(for: deleted, .remove, Credentials(uid: deleted.uid, gid: deleted.gid)))
    }

    /// Starts a change of data on its way to the group's secondaries, when
    /// it has any: its reply waits for it as for a commit (`handle` waits,
    /// or the serving loop holds the reply while it serves the next requests).
    func replicate<Operation: SentByPrimary>(_ operation: Operation) {
        guard let secondaries = context.secondaries, context.role.isPrimary else { return }
        secondaries.start(operation)
    }

    /// Passes a change of data on to the group's secondaries and returns once each has it.
    func replicateAndWait<Operation: SentByPrimary>(_ operation: Operation) throws {
        guard let secondaries = context.secondaries, context.role.isPrimary else { return }
        try secondaries.ship(operation)
    }

    /// Removes the bstreams of deleted datafiles, here and on the group's
    /// secondaries (without waiting for them unless `waitsForCopies`: a copy
    /// that fails to drop one keeps an orphan bstream, which fsck finds).
    func dropBstreams(_ datafiles: [ObjectHandle], waitsForCopies: Bool = true) throws {
        let removed = try datafiles.filter { try context.bstreams.remove(datafile: $0) }
        // A bstream the primary never had, no copy has: copies write only what their primary wrote first
        // (and a full resync starts a copy's bstreams afresh). Files never written cost no message.
        guard !removed.isEmpty else { return }
        if waitsForCopies {
            try replicateAndWait(DropBstreams(removed))
        } else if let secondaries = context.secondaries, context.role.isPrimary {
            _ = secondaries.current?.ship(DropBstreams(removed), callerAttends: false)
        }
    }

    /// Does the work a request left for after its reply.
    func carryOut(_ followUp: FollowUp) {
        switch followUp {
        case .removeBstreams(let datafiles): removeBstreams(datafiles)
        case .removeDatafiles(let datafiles):
            var steps = 0
            removeDatafilesOfRemovedFile(datafiles, steps: &steps)
        }
    }

    /// `dropBstreams` after a reply was sent: what fails is logged (fsck finds orphaned bstreams).
    func removeBstreams(_ datafiles: [ObjectHandle]) {
        do {
            try dropBstreams(datafiles, waitsForCopies: false)
        } catch {
            context.log("removing the bstreams of \(datafiles.count) deleted datafiles: \(error)")
        }
    }

    // MARK: Shared checks

    /// No thread waits on a peer while it holds a database (the peer's
    /// request may need a serving thread that waits for this one): inside a
    /// commit, a request that finds it must is refused with `needsPeers`
    /// before it changes anything, and answered again outside (by its
    /// serving loop on a thread of its own, or by `handleInOneCommit`).
    func refuseWaitingOnPeersInACommit(_ what: @autoclosure () -> String) throws {
        guard context.metadata.holdsOpenGroup else { return }
        throw FSError(.needsPeers, "server \(context.serverIndex) would wait on \(what()) inside a commit")
    }

    /// A datafile this server holds; `staleHandle` for any other handle
    /// (a removed file's datafile, or garbage), so no bstream is made for it.
    func checkDatafile(_ handle: ObjectHandle) throws -> ObjectHandle {
        guard try context.metadata.isDatafile(handle) else {
            throw FSError(.staleHandle, "datafile \(handle) does not exist on server \(context.serverIndex)")
        }
        return handle
    }

    /// A file's attributes with its size when all its datafiles live here
    /// (a stuffed file's always do), so most small files need no second request.
    func withLocalSize(_ attributes: ObjectAttributes) throws -> ObjectAttributes {
        guard attributes.kind == .file, !attributes.sizeIsKnown, let distribution = attributes.distribution,
              attributes.datafiles.allSatisfy({ $0.server == context.serverIndex })
        else { return attributes }
        // A stuffed file's missing datafiles hold nothing: logicalSize reads only the sizes it gets.
        let sizes = try attributes.datafiles.map { try context.bstreams.size(datafile: $0) }
        var filled = attributes
        filled.size = distribution.logicalSize(datafileSizes: sizes)
        filled.sizeIsKnown = true
        return filled
    }

    /// What this server can say of an entry whose object lives elsewhere:
    /// its handle and kind (link count 0 tells the client to ask the owner).
    func remoteStub(_ entry: DirectoryEntry) -> ObjectAttributes {
        let zero = Timestamp(seconds: 0)
        return ObjectAttributes(
            handle: entry.handle, kind: entry.kind, mode: 0, uid: 0, gid: 0, accessTime: zero, modifyTime: zero, changeTime: zero,
            linkCount: 0, size: 0, distribution: nil)
    }

    /// An object this server owns; `staleHandle` for one it does not (any
    /// more), naming the server that does.
    func object(_ handle: ObjectHandle) throws -> ObjectAttributes {
        guard handle.server == context.serverIndex else {
            throw FSError(.staleHandle, "handle \(handle) belongs to server \(handle.server.map(String.init) ?? "none"), not server \(context.serverIndex)")
        }
        guard let attributes = try context.metadata.attributes(of: handle) else {
            throw FSError(.staleHandle, "object \(handle) does not exist on server \(context.serverIndex)")
        }
        return attributes
    }

    /// A directory that `credentials` may search (1) and, when asked, change (2).
    func directory(_ handle: ObjectHandle, _ credentials: Credentials, write: Bool) throws -> ObjectAttributes {
        let directory = try object(handle)
        guard directory.kind == .directory else { throw FSError(.notDirectory, "object \(handle) is not a directory") }
        let needed: UInt32 = write ? 3 : 1
        guard directory.allows(needed, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not \(write ? "change" : "search") directory \(handle)")
        }
        return directory
    }

    /// An object's attributes wherever it lives: another server's are asked
    /// of it (nil without peers, as in a handler under test, when it is gone,
    /// or when the handle names no server of this file system).
    func anyObject(_ handle: ObjectHandle) throws -> ObjectAttributes? {
        if handle.server == context.serverIndex { return try context.metadata.attributes(of: handle) }
        guard let peers = context.peers, let server = handle.server, server < context.configuration.servers.count else { return nil }
        try refuseWaitingOnPeersInACommit("server \(server)'s attributes of \(handle)")
        do {
            return try peers.call(GetAttributes(handle), to: server, deadline: .after(seconds: context.peerTimeoutSeconds)).reply
        } catch let error as FSError where error.code == .staleHandle {
            return nil
        }
    }

    /// A directory moved to another parent gets a new "..": that takes write
    /// permission on the directory itself (Linux's vfs_rename).
    func checkMayMoveDirectory(_ moved: ObjectAttributes, _ credentials: Credentials) throws {
        guard moved.allows(2, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not write directory \(moved.handle), so may not move it to another parent")
        }
    }

    /// With the sticky bit, only the entry's owner, the directory's owner or root may remove or replace it.
    func checkSticky(_ directory: ObjectAttributes, entryOwner: UInt32, _ credentials: Credentials) throws {
        guard directory.mode & 0o1000 != 0, !credentials.isSuperuser, credentials.uid != entryOwner, credentials.uid != directory.uid else { return }
        throw FSError(.notPermitted, "directory \(directory.handle) is sticky: uid \(credentials.uid) may not remove another's entry")
    }
}

extension RequestHandler {
    /// The replication of `group`, which this copy must be of.
    func replicaGroup(_ group: Int) throws -> (ReplicationContext, Secondaries) {
        guard let replication = context.replication, let secondaries = context.secondaries else {
            throw FSError(.notSupported, "this file system keeps one copy of each object: it has no replica groups")
        }
        guard group == context.serverIndex else {
            throw FSError(.invalidArgument, "a request for group \(group) sent to the copy of group \(context.serverIndex)")
        }
        return (replication, secondaries)
    }
}
