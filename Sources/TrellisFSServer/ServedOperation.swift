import NIOCore
import TrellisFSProtocol

/// An operation as a server carries it out: its handler, in the file named
/// after the operation under `Operations/`.
protocol ServedOperation: FSOperation {
    /// The reply, from this server's stores (and its peers, for the
    /// aggregate operations that fan out).
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Reply

    /// Whether answering may wait on other servers: the serving loop hands
    /// these to a thread of their own so it never blocks on a peer.
    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool

    /// Whether the peers it waits on never call this server back, so that
    /// its change and the record of its reply may share one commit while it
    /// waits (with replicas, a copy that takes over then has both or neither).
    static var peersNeverCallBack: Bool { get }

    /// Whether it takes the database for a transaction of its own (a
    /// snapshot replacing every row), so it never joins the commit the
    /// requests that arrived with it share.
    static var runsAlone: Bool { get }

    /// Peer work done before a commit of its own opens (no thread waits on
    /// a peer while it holds the database): a create's remote datafiles.
    func datafilesBeforeCommit(_ handler: RequestHandler, _ credentials: Credentials) throws -> PreparedDatafiles?
}

extension ServedOperation {
    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool { false }
    static var peersNeverCallBack: Bool { false }
    static var runsAlone: Bool { false }
    func datafilesBeforeCommit(_ handler: RequestHandler, _ credentials: Credentials) throws -> PreparedDatafiles? { nil }

    /// The answer, as it goes on the wire.
    func answer(_ handler: RequestHandler, _ call: inout ServerCall) -> Result<ByteBuffer, FSError> {
        do {
            return .success(Self.encodeReply(try serve(handler, &call)))
        } catch let error as FSError {
            return .failure(error)
        } catch {
            return .failure(FSError(.ioError, "server \(handler.context.serverIndex): \(error)"))
        }
    }
}

/// What one request brings and leaves besides its fields and reply: who
/// asks, the work to do after the reply, and the message time steps it took.
struct ServerCall {
    let credentials: Credentials
    /// Datafiles made for the request before its commit opened.
    var prepared: PreparedDatafiles? = nil
    var followUps: [FollowUp] = []
    var steps = 1
}
