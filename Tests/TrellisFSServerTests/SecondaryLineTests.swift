import Foundation
import NIOCore
import Synchronization
import Testing
import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime
import TrellisSystem

@testable import TrellisFSServer

/// A primary's lines to a copy, over a real connection between two runtimes
/// of this process, the copy played by a thread that answers each change
/// as the test says: answers are taken by the serving loop that waits on
/// them, or by the line's own thread when no loop does, in the order sent;
/// a refused change fails its passage and every change after it.
@Suite struct SecondaryLineTests {
    /// Plays a group's copy on its own runtime: answers each `ApplyChanges`
    /// with success, except the changes named in `refused`, and keeps the
    /// first byte of each changeset in the order they came.
    final class Copy: @unchecked Sendable {
        let runtime: Runtime
        let port: TrellisRuntime.Port
        let received = Mutex<[UInt8]>([])
        let refused: Set<UInt8>
        private var thread: pthread_t?

        init(refusing refused: Set<UInt8> = []) throws {
            runtime = try Runtime.initialize(asSingleton: true)
            port = runtime.openPort()
            self.refused = refused
            thread = startThread(named: "copy") { [self] in serve() }
        }

        private func serve() {
            guard let primary = try? runtime.selfCommunicator.iaccept(port).wait(deadline: .after(seconds: 30)) else { return }
            while let message = try? primary.receive(from: .rank(0), tag: .any, deadline: .after(seconds: 30)),
                message.tag == MessageTags.request, let envelope = try? FSRequestEnvelope.decode(message.payload),
                let change = (envelope.operation as? ApplyChanges)?.changeset.getInteger(at: 0, as: UInt8.self)
            {
                received.withLock { $0.append(change) }
                let result: Result<Done, FSError> = refused.contains(change) ? .failure(FSError(.ioError, "change \(change) refused")) : .success(Done())
                _ = try? primary.send(FSReplyEnvelope(requestID: envelope.requestID, answering: ApplyChanges.self, result).encoded(), to: 0, tag: MessageTags.reply(to: envelope.requestID))
            }
        }

        func finish() {
            if let thread { pthread_join(thread, nil) }
            port.close()
            try? runtime.finalize()
        }
    }

    /// A primary's runtime and a replicator with one line, to `copy`.
    private static func withLine(to copy: Copy, _ body: (Replicator) throws -> Void) throws {
        defer { copy.finish() }
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let replicator = Replicator(
            group: 0, secondaries: [1], timeoutSeconds: 10, startCompletion: { runtime.startGeneralizedRequest("a change") },
            connect: { _ in ServerConnection(index: 0, serviceName: "copy", runtime: runtime, requestIDs: RequestIDSource(), portName: copy.port.name.description, resendsAfterLoss: false) })
        // The line's end goes before the runtime's, so the copy's receive ends with the session.
        defer { replicator.close() }
        try body(replicator)
    }

    private static func change(_ byte: UInt8) -> Changeset { Changeset(bytes: Data([byte])) }

    @Test func answersAreTakenInOrderByTheLoopThatWaitsOrElseByTheLine() throws {
        let copy = try Copy()
        try Self.withLine(to: copy) { replicator in
            // No loop waits: the line's thread takes every answer.
            for byte: UInt8 in 1...20 {
                #expect(replicator.ship(Self.change(byte), callerAttends: false).outcome() == nil)
            }
            // A loop that waits on the lines' oldest answers takes them itself, with several on their way at once.
            let passages = (21...60).map { replicator.ship(Self.change(UInt8($0)), callerAttends: true) }
            let deadline = Deadline.after(seconds: 30)
            while !passages.allSatisfy(\.isComplete), !deadline.hasPassed {
                // Asking for the answers to wait on takes those that came.
                _ = try? waitAny(replicator.oldestArrivals + passages.filter { !$0.isComplete }.map(\.completion), deadline: .after(seconds: 1))
            }
            #expect(passages.allSatisfy { $0.outcome() == nil })
        }
        #expect(copy.received.withLock { $0 } == Array(1...60))
    }

    @Test func aRefusedChangeFailsItselfAndEveryChangeAfterIt() throws {
        let copy = try Copy(refusing: [3])
        try Self.withLine(to: copy) { replicator in
            #expect(replicator.ship(Self.change(1), callerAttends: false).outcome() == nil)
            #expect(replicator.ship(Self.change(2), callerAttends: true).outcome() == nil)
            let refused = replicator.ship(Self.change(3), callerAttends: true)
            let failure = refused.outcome()
            #expect(failure?.code == .ioError || failure?.code == .serverUnavailable)
            // Until the line gets through again, a new change fails at once, naming the copy.
            let next = replicator.ship(Self.change(4), callerAttends: false).outcome()
            #expect(next?.code == .serverUnavailable)
            #expect(next?.message.contains("server 1") == true)
            #expect(replicator.memberStates().first?.state == .behind)
        }
        #expect(copy.received.withLock { $0 }.prefix(3) == [1, 2, 3])
    }
}
