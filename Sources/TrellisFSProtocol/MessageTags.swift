/// Tags of file-system messages on a client's intercommunicator with a
/// server: requests on one tag, each reply on a tag of its own derived from
/// the request id, so that a client waits for exactly its reply.
public enum MessageTags {
    public static let request = 1
    private static let firstReply = 16

    public static func reply(to requestID: UInt64) -> Int {
        firstReply + Int(requestID % 1_000_000_000)
    }
}
