/// Tags of file-system messages on a client's intercommunicator with a
/// server: requests on one tag, each reply on a tag of its own derived from
/// the request id, so that a client waits for exactly its reply.
public enum MessageTags {
    /// The tag every request travels on.
    public static let request = 1
    /// The tag of the message a client sends before it disconnects: the
    /// server's side of the intercommunicator learns nothing else of a
    /// disconnect, and would keep the session (and a posted receive) for good.
    public static let sessionEnd = 2
    /// What that message holds; anything else on its tag is a stray, dropped like others.
    public static let sessionEndWords = "session-end"
    private static let firstReply = 16

    /// The tag the reply to `requestID` travels on.
    public static func reply(to requestID: UInt64) -> Int {
        firstReply + Int(requestID % 1_000_000_000)
    }
}
