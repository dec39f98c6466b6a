import Foundation
import Testing

/// A fresh folder on a tmpfs of `bytes`, for a disk that fills (mounting one needs root, which CI has).
func withSmallTmpfs(bytes: Int, _ body: (String) throws -> Void) throws {
    let folder = NSTemporaryDirectory() + "trellis-full-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    func run(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
    try #require(try run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", folder]) == 0, "mounting a tmpfs needs root (CI runs as root)")
    defer { _ = try? run(["/bin/umount", folder]) }
    try body(folder)
}
