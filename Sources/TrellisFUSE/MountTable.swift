import Glibc
import Foundation

/// What /proc/self/mountinfo says about Trellis mounts.
public enum MountTable {
    /// Whether `point` is mounted now, by a Trellis mount (as /proc/self/mountinfo says).
    public static func isTrellisMount(_ point: String) -> Bool {
        device(ofTrellisMount: point) != nil
    }

    /// The mount's device as "major:minor", which names its backing device info in /sys/class/bdi.
    public static func device(ofTrellisMount point: String) -> String? {
        entry(ofTrellisMount: point)?.device
    }

    /// The name of the file system mounted at `point` (its source reads "trellis:NAME").
    public static func fileSystemName(ofTrellisMount point: String) -> String? {
        guard let source = entry(ofTrellisMount: point)?.source, source.hasPrefix("trellis:") else { return nil }
        return String(source.dropFirst("trellis:".count))
    }

    private static func entry(ofTrellisMount point: String) -> (device: String, source: String)? {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, let separator = fields.firstIndex(of: "-"), separator + 2 < fields.count else { continue }
            if unescape(fields[4]) == point && fields[separator + 1] == "fuse.trellis" {
                return (String(fields[2]), unescape(fields[separator + 2]))
            }
        }
        return nil
    }

    /// Sets the kernel's read-ahead for the mount (root only; best effort):
    /// a FUSE mount starts at 128 KiB, so sequential reads would come in
    /// requests far below the 1 MiB the mount takes.
    public static func setReadAhead(of point: String, kibibytes: Int) {
        guard let device = device(ofTrellisMount: point) else { return }
        let descriptor = open("/sys/class/bdi/\(device)/read_ahead_kb", O_WRONLY)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        _ = "\(kibibytes)\n".withCString { write(descriptor, $0, strlen($0)) }
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    private static func unescape(_ field: Substring) -> String {
        field.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
    }
}
