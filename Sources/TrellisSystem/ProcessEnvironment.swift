import Glibc
import TrellisCore

/// The environment of this process, read without Foundation.
public enum ProcessEnvironment {
    /// Every variable of this process's environment, as it is now.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    /// One variable's value, or nil when it is not set.
    public static func value(_ key: String) -> String? {
        getenv(key).map { String(cString: $0) }
    }
}
