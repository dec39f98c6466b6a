/// What a launcher or proxy asks an agent for, once both have proven they hold the key.
public enum AgentRequest: Sendable, Equatable {
    /// Start a proxy of a job that connects back to `parent` as `position`
    /// and proves `jobKey` (hexadecimal) there; its stdout and stderr are this connection.
    case startProxy(parent: String, position: Int, jobKey: String)
    /// Say who you are; nothing else happens.
    case ping
    /// End the proxies you started, then yourself.
    case stop

    /// Fields separated by newlines: none of them can hold one.
    var encoded: [UInt8] {
        switch self {
        case .startProxy(let parent, let position, let jobKey): return Array("proxy\n\(parent)\n\(position)\n\(jobKey)".utf8)
        case .ping: return Array("ping".utf8)
        case .stop: return Array("stop".utf8)
        }
    }

    static func decode(_ bytes: [UInt8]) -> AgentRequest? {
        let fields = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        switch fields.first {
        case "proxy":
            guard fields.count == 4, let position = Int(fields[2]), position >= 0, !fields[1].isEmpty else { return nil }
            return .startProxy(parent: fields[1], position: position, jobKey: fields[3])
        case "ping": return fields.count == 1 ? .ping : nil
        case "stop": return fields.count == 1 ? .stop : nil
        default: return nil
        }
    }
}
