#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import Synchronization
import TrellisCore
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime

/// One running server of a file system: a runtime singleton that publishes
/// its port under the file system's service name, accepts clients without a
/// thread parked in accept, and answers their requests one at a time. A
/// client that dies or sends garbage costs only its own session.
public final class FileSystemServer: @unchecked Sendable {
    private struct Session {
        var client: Communicator
        var pending: Request<Message>
    }

    public let configuration: FileSystemConfiguration
    public let index: Int
    private let runtime: Runtime
    private let handler: RequestHandler
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private var sessions: [Session] = []
    private var replies: [Request<Void>] = []

    public init(configuration: FileSystemConfiguration, index: Int, logger: Logger = Logger(label: "trellis.fs.server")) throws {
        guard configuration.servers.indices.contains(index) else {
            throw FSError(.invalidArgument, "server index \(index) is outside 0 ..< \(configuration.servers.count) of \(configuration.name)")
        }
        self.configuration = configuration
        self.index = index
        self.logger = logger
        let stores = try ServerStorage.open(configuration, server: index)
        runtime = try Runtime.initialize(asSingleton: true)
        let servers = configuration.servers.indices.map {
            ServerDescription(index: UInt32($0), serviceName: configuration.serviceName(ofServer: $0), portName: "")
        }
        var context = ServerContext(
            serverIndex: index,
            configuration: FSConfiguration(name: configuration.name, servers: servers, defaultDistribution: try configuration.defaultDistribution()),
            metadata: stores.metadata, bstreams: stores.bstreams)
        context.peers = PeerLinks(runtime: runtime, serviceNames: servers.map(\.serviceName))
        context.log = { [logger] message in logger.warning("server \(index): \(message)") }
        handler = RequestHandler(context: context)
    }

    /// Asks `run` to return after the request in hand (safe from any thread).
    public func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Serves until `stop`; `ready` is called with the port name once clients can connect.
    public func run(ready: (String) -> Void = { _ in }) throws {
        let port = runtime.openPort()
        let service = configuration.serviceName(ofServer: index)
        try runtime.publish(name: service, port: port.name.description)
        logger.info("server \(index) of \(configuration.name) serving as \(service) at \(port.name)")
        ready(port.name.description)
        var accept = try runtime.selfCommunicator.iaccept(port)
        while !stopRequested.load(ordering: .acquiring) {
            replies.removeAll { $0.isComplete }
            let waitables: [any Waitable] = [accept] + sessions.map(\.pending)
            let ready: Int
            do {
                ready = try waitAny(waitables, deadline: .after(seconds: 0.5))
            } catch let error as TrellisError where error.code == .timedOut {
                continue
            }
            if ready == 0 {
                do {
                    let client = try accept.wait()
                    sessions.append(Session(client: client, pending: try Self.nextMessage(from: client)))
                } catch {
                    logger.warning("a client failed to connect: \(error)")
                }
                accept = try runtime.selfCommunicator.iaccept(port)
                continue
            }
            serve(sessionAt: ready - 1)
        }
        accept.cancel()
        for session in sessions {
            session.pending.cancel()
            _ = session.client.idisconnect()
        }
        handler.context.peers?.close()
        try? runtime.unpublish(name: service)
        port.close()
        try runtime.finalize()
    }

    /// Whatever a client sends next, on any tag: messages on other tags
    /// than requests are taken and dropped, so none can pile up here (or
    /// leave its sender waiting for a receive that never comes).
    private static func nextMessage(from client: Communicator) throws -> Request<Message> {
        try client.ireceive(from: .rank(0), tag: .any)
    }

    private func serve(sessionAt position: Int) {
        let session = sessions[position]
        let message: Message
        do {
            message = try session.pending.wait()
            sessions[position].pending = try Self.nextMessage(from: session.client)
        } catch {
            logger.info("client gone: \(error)")
            _ = session.client.idisconnect()
            sessions.remove(at: position)
            return
        }
        guard message.tag == MessageTags.request else {
            logger.warning("server \(index): dropped a message on tag \(message.tag), which carries no requests")
            return
        }
        let envelope: FSRequestEnvelope
        do {
            envelope = try FSRequestEnvelope.decode(message.payload)
        } catch {
            // Without a request id there is no reply tag to answer on: the client's wait times out.
            logger.warning("server \(index): dropped a malformed request: \(error)")
            return
        }
        if RequestHandler.mayFanOut(envelope.request) {
            // It may wait on other servers, which may be waiting on this one: never in this loop.
            let client = session.client
            if let thread = startThread({ [self] in answer(envelope, to: client, waitForSend: true) }) {
                pthread_detach(thread)
                return
            }
        }
        answer(envelope, to: session.client, waitForSend: false)
    }

    private func answer(_ envelope: FSRequestEnvelope, to client: Communicator, waitForSend: Bool) {
        let (reply, followUps) = handler.handle(envelope)
        do {
            let send = try client.isend(reply.encoded(), to: 0, tag: MessageTags.reply(to: envelope.requestID))
            if waitForSend { try send.wait(deadline: .after(seconds: handler.context.peerTimeoutSeconds)) } else { replies.append(send) }
        } catch {
            logger.info("could not answer request \(envelope.requestID): \(error)")
        }
        for followUp in followUps { carryOut(followUp) }
    }

    private func carryOut(_ followUp: FollowUp) {
        switch followUp {
        case .removeBstreams(let datafiles):
            for datafile in datafiles {
                do {
                    try handler.context.bstreams.remove(datafile: datafile)
                } catch {
                    logger.warning("server \(index): removing the bstream of datafile \(datafile): \(error)")
                }
            }
        }
    }
}
