import Foundation
import Glibc
import Testing
import TrellisCore
@testable import TrellisRuntime

/// The key file: made with mode 0400, never replaced, and refused when
/// others may read it, when it is short, or when it is not a file.
@Suite struct ClusterKeyTests {
    private func folder() throws -> String {
        let path = NSTemporaryDirectory() + "cluster-key-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    private func mode(_ path: String) -> mode_t {
        var status = stat()
        _ = stat(path, &status)
        return status.st_mode & 0o777
    }

    @Test func aGeneratedKeyIsPrivateLoadsAndIsNeverReplaced() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/key"
        let made = try ClusterKey.generate(at: path)
        #expect(mode(path) == 0o400)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.count == 2 * ClusterKey.generatedBytes + 1 && text.hasSuffix("\n"))
        let loaded = try ClusterKey.load(from: path)
        let parts = [Array("a message".utf8)]
        #expect(loaded.isAuthenticationCode(made.authenticationCode(parts), of: parts), "the file holds the key that was made")
        #expect(!ClusterKey.generate().isAuthenticationCode(made.authenticationCode(parts), of: parts), "two generated keys differ")
        #expect(throws: TrellisError.self) { try ClusterKey.generate(at: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text, "the existing key is kept")
    }

    @Test func aKeyOthersMayReadIsRefusedNamingTheFileAndTheFix() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/key"
        try "a secret long enough to be a key".write(toFile: path, atomically: false, encoding: .utf8)
        for loose: mode_t in [0o644, 0o604, 0o640, 0o402] {
            chmod(path, loose)
            let error = #expect(throws: TrellisError.self) { try ClusterKey.load(from: path) }
            #expect(error?.message.contains(path) == true && error?.message.contains("chmod 400") == true, "\(String(describing: error))")
        }
        chmod(path, 0o600)
        _ = try ClusterKey.load(from: path)
    }

    @Test func aShortKeyADirectoryAndAMissingFileAreRefused() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let short = folder + "/short"
        try "  tiny key \n".write(toFile: short, atomically: false, encoding: .utf8)
        chmod(short, 0o400)
        let error = #expect(throws: TrellisError.self) { try ClusterKey.load(from: short) }
        #expect(error?.message.contains("at least \(ClusterKey.minimumBytes) bytes") == true, "\(String(describing: error))")
        chmod(folder, 0o700)
        #expect(throws: TrellisError.self) { try ClusterKey.load(from: folder) }
        #expect(throws: TrellisError.self) { try ClusterKey.load(from: folder + "/absent") }
    }

    /// White space around the key is not part of it: a key written by hand
    /// with an editor's newline is the key without it.
    @Test func whiteSpaceAroundTheKeyIsNotPartOfIt() throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plain = folder + "/plain", padded = folder + "/padded"
        try "0123456789abcdef0123".write(toFile: plain, atomically: false, encoding: .utf8)
        try "\n 0123456789abcdef0123\n\n".write(toFile: padded, atomically: false, encoding: .utf8)
        chmod(plain, 0o400)
        chmod(padded, 0o400)
        let parts = [Array("x".utf8)]
        #expect(try ClusterKey.load(from: padded).isAuthenticationCode(try ClusterKey.load(from: plain).authenticationCode(parts), of: parts))
    }
}
