import NIOCore
import TrellisCore
import TrellisWire

/// What the survivors of a communicator agreed on (MPI_Comm_agree in the
/// ULFM proposal): the AND of their flags, the processes that failed, and a
/// fresh context for the communicator of the survivors (shrink).
struct AgreementDecision: Equatable {
    var flag: UInt64
    var failed: [ProcessID]
    var context: ContextID

    func encoded() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 28 + failed.count * 8)
        buffer.writeInteger(flag, endianness: .little)
        buffer.writeInteger(context.owner, endianness: .little)
        buffer.writeInteger(context.serial, endianness: .little)
        buffer.writeInteger(UInt32(failed.count), endianness: .little)
        for process in failed { buffer.writeInteger(process.rawValue, endianness: .little) }
        return buffer
    }

    static func decode(_ input: ByteBuffer) throws -> AgreementDecision {
        var buffer = input
        guard let flag = buffer.readInteger(endianness: .little, as: UInt64.self),
            let owner = buffer.readInteger(endianness: .little, as: UInt64.self),
            let serial = buffer.readInteger(endianness: .little, as: UInt64.self),
            let count = buffer.readInteger(endianness: .little, as: UInt32.self),
            Int(count) * 8 == buffer.readableBytes
        else { throw TrellisError(.protocolViolation, "malformed agreement message") }
        let failed = (0..<Int(count)).map { _ in ProcessID(rawValue: buffer.readInteger(endianness: .little, as: UInt64.self)!) }
        return AgreementDecision(flag: flag, failed: failed, context: ContextID(owner: owner, serial: serial))
    }
}

/// One agreement in progress (or decided) at this process.
///
/// The protocol: every member sends its flag and the failures it knows to
/// the coordinator, the lowest-ranked member it believes alive. The
/// coordinator waits until it has heard from every member it believes
/// alive, decides, and sends the decision to all. When the coordinator
/// dies, the members move on to the next one; members that had already
/// decided send it their decision, and a coordinator that hears of a
/// decision adopts it, so no two survivors decide differently.
final class Agreement {
    let group: Group
    var flag: UInt64 = ~0
    var entered = false
    var known = Set<ProcessID>()
    var proposals: [ProcessID: AgreementDecision] = [:]
    var proposedTo: ProcessID?
    var decision: AgreementDecision?
    var request: RequestCore?

    init(group: Group) { self.group = group }

    var coordinator: ProcessID? { group.members.first { !known.contains($0) } }
}

struct AgreementKey: Hashable {
    var context: ContextID
    var epoch: UInt64
}

/// Agreements by communicator and number; decided ones stay to answer
/// late members until the communicator is freed (the last few per communicator).
struct AgreementTable {
    var entries: [AgreementKey: Agreement] = [:]
    static let keptPerContext: UInt64 = 16

    mutating func forget(_ context: ContextID) {
        guard !entries.isEmpty else { return }
        entries = entries.filter { $0.key.context != context }
    }

    mutating func agreement(for key: AgreementKey, group: Group) -> Agreement {
        if let existing = entries[key] { return existing }
        let created = Agreement(group: group)
        entries[key] = created
        if key.epoch > Self.keptPerContext {
            entries[AgreementKey(context: key.context, epoch: key.epoch - Self.keptPerContext)] = nil
        }
        return created
    }
}

extension ProgressEngine {
    /// Joins agreement number `epoch` on a communicator. Lock held.
    func startAgreement(context: ContextID, group: Group, epoch: UInt64, flag: UInt64, request: RequestCore) {
        let agreement = agreements.agreement(for: AgreementKey(context: context, epoch: epoch), group: group)
        agreement.entered = true
        agreement.flag = flag
        agreement.request = request
        for member in group.members where member != processID {
            if let error = failedPeers[member], !isOrderlyDeparture(error) { agreement.known.insert(member) }
            if communicators[context]?.failedMembers[member] != nil { agreement.known.insert(member) }
        }
        advance(agreement, key: AgreementKey(context: context, epoch: epoch))
    }

    private func advance(_ agreement: Agreement, key: AgreementKey) {
        if let decision = agreement.decision {
            if let request = agreement.request, !request.isDone { request.succeed(.agreement(decision)) }
            return
        }
        guard agreement.entered, let coordinator = agreement.coordinator else { return }
        if coordinator == processID {
            for (member, proposal) in agreement.proposals { agreement.known.formUnion(proposal.failed.filter { $0 != member }) }
            let waitingFor = agreement.group.members.filter { $0 != processID && !agreement.known.contains($0) && agreement.proposals[$0] == nil }
            guard waitingFor.isEmpty else { return }
            var flag = agreement.flag
            for (member, proposal) in agreement.proposals where !agreement.known.contains(member) { flag &= proposal.flag }
            let decision = AgreementDecision(
                flag: flag, failed: agreement.group.members.filter { agreement.known.contains($0) },
                context: ContextID(owner: processID.rawValue, serial: takeContextSerials(count: 1)))
            decide(agreement, decision, key: key, except: nil)
            return
        }
        guard agreement.proposedTo != coordinator else { return }
        agreement.proposedTo = coordinator
        let proposal = AgreementDecision(flag: agreement.flag, failed: Array(agreement.known), context: ContextID(owner: 0, serial: 0))
        do {
            try sendControl(.agreementProposal, to: coordinator, context: key.context, exchange: key.epoch, payload: proposal.encoded())
        } catch {
            agreement.known.insert(coordinator)
            advance(agreement, key: key)
        }
    }

    /// Records a decision and, as coordinator, tells every survivor.
    private func decide(_ agreement: Agreement, _ decision: AgreementDecision, key: AgreementKey, except sender: ProcessID?) {
        agreement.decision = decision
        if agreement.coordinator == processID {
            for member in agreement.group.members where member != processID && member != sender && !decision.failed.contains(member) {
                try? sendControl(.agreementDecision, to: member, context: key.context, exchange: key.epoch, payload: decision.encoded())
            }
        }
        if let request = agreement.request, !request.isDone { request.succeed(.agreement(decision)) }
    }

    func receiveAgreementMessage(_ header: FrameHeader, payload: ByteBuffer, from peer: ProcessID, isDecision: Bool) {
        guard let record = communicators[header.context] else { return }
        let key = AgreementKey(context: header.context, epoch: header.exchange)
        guard let message = try? AgreementDecision.decode(payload) else {
            logger.warning("malformed agreement message from process \(peer); ignored")
            return
        }
        let agreement = agreements.agreement(for: key, group: record.group)
        if isDecision {
            guard agreement.decision == nil else { return }
            decide(agreement, message, key: key, except: peer)
            return
        }
        if let decision = agreement.decision {
            // A member that moved to a new coordinator, or asks late: it gets what was decided.
            try? sendControl(.agreementDecision, to: peer, context: key.context, exchange: key.epoch, payload: decision.encoded())
            return
        }
        agreement.proposals[peer] = message
        advance(agreement, key: key)
    }

    /// A member died: agreements waiting on it move on; decided ones tell
    /// the next coordinator what was decided. Lock held.
    func agreementPeerFailed(_ peer: ProcessID) {
        for (key, agreement) in agreements.entries where agreement.group.members.contains(peer) && !agreement.known.contains(peer) {
            let formerCoordinator = agreement.coordinator
            agreement.known.insert(peer)
            if let decision = agreement.decision {
                if formerCoordinator == peer, let next = agreement.coordinator, next != processID {
                    try? sendControl(.agreementDecision, to: next, context: key.context, exchange: key.epoch, payload: decision.encoded())
                }
            } else {
                advance(agreement, key: key)
            }
        }
    }
}
