import Foundation
import NIOCore
import Testing
import TrellisFSClient
import TrellisFSProtocol

/// Extended attributes against real servers, through the client library
/// and `trellis fs xattr`.
@Suite(.serialized) struct ExtendedAttributeJobTests {
    @Test func userAttributesSetGetListRemoveWithLimitsAndClearErrors() throws {
        let fixture = try FileSystemFixture(servers: 2)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/x")
        try fs.write("/x/f", ByteBuffer(string: "data"), at: 0, create: true)
        try fs.symlink("/x/link", to: "f")

        try fs.setExtendedAttribute("/x/f", named: "user.project", to: ByteBuffer(string: "trellis"))
        try fs.setExtendedAttribute("/x", named: "user.empty", to: ByteBuffer())
        #expect(try fs.extendedAttribute("/x/f", named: "user.project") == ByteBuffer(string: "trellis"))
        #expect(try fs.extendedAttribute("/x/link", named: "user.project") == ByteBuffer(string: "trellis"))
        #expect(try fs.extendedAttribute("/x", named: "user.empty").readableBytes == 0)
        let big = ByteBuffer(repeating: 7, count: ExtendedAttributeName.maximumValueBytes)
        try fs.setExtendedAttribute("/x/f", named: "user.big", to: big)
        #expect(try fs.extendedAttribute("/x/f", named: "user.big") == big)
        #expect(try fs.extendedAttributeNames("/x/f") == ["user.big", "user.project"])

        func code(_ body: () throws -> Void) -> FSError.Code? {
            do { try body(); return nil } catch let error as FSError { return error.code } catch { return nil }
        }
        #expect(code { _ = try fs.extendedAttribute("/x/f", named: "user.missing") } == .noAttribute)
        #expect(code { try fs.setExtendedAttribute("/x/f", named: "user.project", to: ByteBuffer(), mode: .createOnly) } == .exists)
        #expect(code { try fs.setExtendedAttribute("/x/f", named: "user.new", to: ByteBuffer(), mode: .replaceOnly) } == .noAttribute)
        #expect(code { try fs.setExtendedAttribute("/x/f", named: "trusted.x", to: ByteBuffer()) } == .notSupported)
        #expect(code { try fs.setExtendedAttribute("/x/f", named: "user." + String(repeating: "n", count: 251), to: ByteBuffer()) } == .nameTooLong)
        #expect(code { try fs.setExtendedAttribute("/x/f", named: "user.huge", to: ByteBuffer(repeating: 1, count: ExtendedAttributeName.maximumValueBytes + 1)) } == .tooBig)
        #expect(code { try fs.setExtendedAttribute("/x/link", named: "user.on-link", to: ByteBuffer(), followLast: false) } == .notPermitted)
        #expect(code { try fs.removeExtendedAttribute("/x/f", named: "user.missing") } == .noAttribute)
        // Another user may read what the mode lets it read, and change nothing.
        fs.credentials = Credentials(uid: 4242, gid: 4242)
        #expect(try fs.extendedAttribute("/x/f", named: "user.project") == ByteBuffer(string: "trellis"))
        #expect(code { try fs.setExtendedAttribute("/x/f", named: "user.project", to: ByteBuffer()) } == .permissionDenied)
        fs.credentials = .current

        try fs.removeExtendedAttribute("/x/f", named: "user.big")
        #expect(try fs.extendedAttributeNames("/x/f") == ["user.project"])

        // The command line.
        let environment = fixture.environment
        let name = ["--name", fixture.name]
        let set = try JobHarness.run([JobHarness.trellis, "fs", "xattr", "set"] + name + ["/x/f", "user.tool", "cli value"], environment: environment)
        #expect(set.status == 0, "\(set.combined)")
        let get = try JobHarness.run([JobHarness.trellis, "fs", "xattr", "get"] + name + ["/x/f", "user.tool"], environment: environment)
        #expect(get.status == 0 && get.output == "cli value", "\(get.combined)")
        let list = try JobHarness.run([JobHarness.trellis, "fs", "xattr", "list", "--json"] + name + ["/x/f"], environment: environment)
        #expect(list.output.contains(#""names":["user.project","user.tool"]"#), "\(list.combined)")
        let missing = try JobHarness.run([JobHarness.trellis, "fs", "xattr", "get"] + name + ["/x/f", "user.nothing"], environment: environment)
        #expect(missing.status != 0 && missing.combined.contains("no-attribute") && missing.combined.contains("user.nothing"), "\(missing.combined)")
        let removed = try JobHarness.run([JobHarness.trellis, "fs", "xattr", "rm"] + name + ["/x/f", "user.tool"], environment: environment)
        #expect(removed.status == 0, "\(removed.combined)")

        // They go with their file.
        try fs.removeFile("/x/f")
        try fs.write("/x/f", ByteBuffer(string: "new"), at: 0, create: true)
        #expect(try fs.extendedAttributeNames("/x/f").isEmpty)
    }
}
