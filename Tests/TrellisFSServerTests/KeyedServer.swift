import Foundation
import NIOCore
import Synchronization
import TrellisFSConnection
import TrellisFSProtocol
import TrellisFSServer
import TrellisFSStorage
import TrellisRuntime

/// One keyed server's handler over real SQLite and bstream files, its clock
/// and identity policy injected: what a server does with the capabilities
/// it is shown and the identities requests state.
final class KeyedServer {
    let folder = NSTemporaryDirectory() + "trellis-capability-\(UUID().uuidString)"
    let handler: RequestHandler
    let signer = CapabilitySigner(secret: ClusterKey.generate())
    let clock = InjectedClock()
    private var nextID: UInt64 = 1
    static let alice = Credentials(uid: 1000, gid: 100)
    static let bob = Credentials(uid: 1001, gid: 101)

    init(identity: IdentityPolicy = IdentityPolicy()) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteMetadataStore(path: folder + "/metadata.sqlite", serverIndex: 0)
        _ = try store.createObject(NewObject(kind: .directory, mode: 0o1777, uid: 0, gid: 0, time: Timestamp(seconds: 1)), handle: .root)
        let configuration = try FSConfiguration(
            name: "keyed", servers: [ServerDescription(index: 0, serviceName: "trellis-fs/keyed/0", portName: "")],
            defaultDistribution: try .simpleStripe(stripSizeBytes: 65_536, datafileCount: 1))
        let clock = clock
        var context = ServerContext(
            serverIndex: 0, configuration: configuration, metadata: store, bstreams: try BstreamStore(folder: folder + "/bstreams"),
            now: { Timestamp(seconds: clock.seconds.load(ordering: .relaxed)) })
        context.capabilities = signer
        context.capabilityLifetimeSeconds = 60
        context.identity = identity
        handler = RequestHandler(context: context)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// Through the wire forms both ways, as from a client.
    @discardableResult
    func call<Operation: FSOperation>(
        _ operation: Operation, as credentials: Credentials = KeyedServer.alice, capability: Capability? = nil, relayEpoch: UInt64? = nil,
        from origin: RequestOrigin? = nil
    ) throws -> Operation.Reply {
        nextID += 1
        let request = FSRequestEnvelope(requestID: nextID, credentials: credentials, operation: operation, relayEpoch: relayEpoch, capability: capability)
        // The serving loop notes where a request came from once it is decoded.
        var decoded = try FSRequestEnvelope.decode(request.encoded())
        decoded.origin = origin
        let (reply, _) = handler.handle(decoded)
        return try FSReplyEnvelope.decode(reply.encoded()).reply(to: Operation.self)
    }

    func refusal(
        _ operation: some FSOperation, as credentials: Credentials = KeyedServer.alice, capability: Capability? = nil, relayEpoch: UInt64? = nil,
        from origin: RequestOrigin? = nil
    ) -> FSError? {
        do {
            _ = try call(operation, as: credentials, capability: capability, relayEpoch: relayEpoch, from: origin)
            return nil
        } catch {
            return error as? FSError
        }
    }

    func file(_ name: String, mode: UInt32, as owner: Credentials = KeyedServer.alice) throws -> ObjectAttributes {
        try call(CreateFile(parent: .root, name: name, mode: mode, distribution: nil, stuffed: true), as: owner).object
    }

    func advance(seconds: Int64) { clock.seconds.add(seconds, ordering: .relaxed) }
}

/// The server's clock, moved by the test.
final class InjectedClock: Sendable {
    let seconds = Atomic<Int64>(1_800_000_000)
}
