import Foundation
import Synchronization
import NIOCore
import Testing
@testable import TrellisFSClient
import TrellisFSProtocol

/// fsck against real servers: each kind of damage made on purpose (as a
/// crash between the steps of an operation would leave it), found, repaired,
/// and then a clean run; with a server down; and while a client works.
@Suite(.serialized) struct CheckJobTests {
    struct Finding: Decodable { var kind: String; var handle: String; var server: Int; var path: String?; var repaired: Bool }
    struct Summary: Decodable { var summary: Bool; var unreachableServers: [Int]; var skippedChecks: [String]; var found: [String: Int]; var repaired: Int; var left: Int }

    private func fsck(_ fixture: FileSystemFixture, _ extra: [String]) throws -> (status: Int32, findings: [Finding], summary: Summary?, text: String) {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "fsck", "--json", "--name", fixture.name, "--timeout", "20"] + extra, environment: fixture.environment, timeoutSeconds: 300)
        let lines = outcome.output.split(separator: "\n").map { Data($0.utf8) }
        let findings = lines.compactMap { try? JSONDecoder().decode(Finding.self, from: $0) }
        let summary = lines.compactMap { try? JSONDecoder().decode(Summary.self, from: $0) }.first
        return (outcome.status, findings, summary, outcome.combined)
    }

    /// A directory whose object lives on another server than its parent's.
    private func farDirectory(_ fs: FileSystemClient, under parent: String) throws -> ObjectAttributes {
        let parentHandle = try fs.lookup(parent).handle
        for index in 0..<64 {
            let made = try fs.makeDirectory("\(parent)/far\(index)")
            if made.handle.server != parentHandle.server { return made }
            // Only the far one stays, so the checks below can name it as the one "far" entry.
            try fs.removeDirectory("\(parent)/far\(index)")
        }
        throw FSError(.notFound, "every directory landed on its parent's server")
    }

    @Test func everyKindOfDamageIsFoundRepairedAndThenClean() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/work")
        try fs.write("/work/keep", ByteBuffer(string: "untouched"), at: 0, create: true)

        // A dangling entry: a directory's object gone, its entry left (rmdir cut short).
        let far = try farDirectory(fs, under: "/work")
        _ = try fs.call(owner: far.handle, RemoveObject(far.handle))
        // An orphan object: a directory object made, its entry never added (mkdir cut short).
        let orphan = try fs.call(server: 1, CreateDirectoryObject(mode: 0o755, distribution: nil))
        // A wrong link count: the owner counted a link whose entry never came.
        let counted = try fs.createFile("/work/counted")
        _ = try fs.call(owner: counted.handle, HardLink(counted.handle, parent: ObjectHandle(server: (counted.handle.server! + 1) % 3, serial: 1 << 40), name: "never"))
        // Orphan datafiles: made for a create that never happened.
        let strays = try fs.call(server: 2, CreateDatafiles(count: 2))
        // An orphan bstream: data left where no datafile object is.
        let bstream = "\(fixture.folder)/server0/bstreams/" + String(ObjectHandle(server: 0, serial: 999_999).rawValue, radix: 16)
        try Data("left over".utf8).write(to: URL(fileURLWithPath: bstream))
        // A size mismatch: a spread file whose datafile on another server was lost.
        try fs.write("/work/wide", ByteBuffer(repeating: 3, count: 12_288), at: 0, create: true)
        let wide = try fs.stat("/work/wide")
        let lost = wide.datafiles.first { $0.server != wide.handle.server }!
        _ = try fs.call(owner: lost, RemoveDatafiles([lost]), capability: fs.serversCapability())
        #expect(throws: FSError.self) { _ = try fs.stat("/work/wide") }

        // Within the grace period, fsck leaves the fresh damage alone (but not dangling entries or lost datafiles).
        let patient = try fsck(fixture, [])
        #expect(patient.summary?.found["orphan-object"] == nil && patient.summary?.found["orphan-datafile"] == nil, "\(patient.text)")
        #expect(patient.summary?.found["dangling-entry"] == 1 && patient.summary?.found["size-mismatch"] == 1, "\(patient.text)")

        let check = try fsck(fixture, ["--grace-seconds", "0"])
        #expect(check.status == 4, "\(check.text)")
        let found = Dictionary(grouping: check.findings, by: \.kind)
        #expect(found["dangling-entry"]?.map(\.path) == ["/work/\(try fs.list("/work").map(\.name).first { $0.hasPrefix("far") }!)"], "\(check.text)")
        #expect(found["orphan-object"]?.map(\.handle) == [orphan.handle.description], "\(check.text)")
        #expect(found["wrong-link-count"]?.map(\.path) == ["/work/counted"], "\(check.text)")
        #expect(Set(found["orphan-datafile"]?.map(\.handle) ?? []) == Set(strays.map(\.description)), "\(check.text)")
        #expect(found["orphan-bstream"]?.map(\.server) == [0], "\(check.text)")
        #expect(found["size-mismatch"]?.map(\.path) == ["/work/wide"], "\(check.text)")
        #expect(check.findings.count == 7 && check.findings.allSatisfy { !$0.repaired }, "\(check.text)")

        let repaired = try fsck(fixture, ["--grace-seconds", "0", "--repair"])
        #expect(repaired.status == 1 && repaired.summary?.repaired == 7 && repaired.summary?.left == 0, "\(repaired.text)")
        let clean = try fsck(fixture, ["--grace-seconds", "0"])
        #expect(clean.status == 0 && clean.findings.isEmpty, "\(clean.text)")

        // What the repairs did.
        #expect(try fs.list("/work").map(\.name).sorted() == ["counted", "keep", "wide"])
        #expect(try fs.list("/lost+found").map(\.name) == ["#" + String(orphan.handle.rawValue, radix: 16)])
        #expect(try fs.stat("/work/counted").linkCount == 1)
        #expect(try fs.stat("/work/wide").size == 12_288)
        #expect(!FileManager.default.fileExists(atPath: bstream))
        #expect(try fs.read("/work/keep", at: 0, length: 100) == ByteBuffer(string: "untouched"))
        #expect(throws: FSError.self) { _ = try fs.call(owner: strays[0], DatafileSizes([strays[0]])) }
    }

    @Test func withAServerDownTheRestIsCheckedAndTheGapNamed() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        // The entry's directory on server 0 (which clients reach first), its object on another, the third server down.
        var parent = ""
        for index in 0..<64 where parent.isEmpty {
            if try fs.makeDirectory("/d\(index)").handle.server == 0 { parent = "/d\(index)" }
        }
        let far = try farDirectory(fs, under: parent)
        _ = try fs.call(owner: far.handle, RemoveObject(far.handle))
        let down = far.handle.server == 1 ? 2 : 1
        fixture.killServer(down)
        let check = try fsck(fixture, ["--grace-seconds", "0", "--repair"])
        #expect(check.summary?.unreachableServers == [down] && check.summary?.skippedChecks.isEmpty == false, "\(check.text)")
        // The dangling entry is found and repaired; nothing is called an orphan while a server that may name it is down.
        #expect(check.findings.map(\.kind) == ["dangling-entry"] && check.findings.first?.repaired == true, "\(check.text)")
        let text = try JobHarness.run([JobHarness.trellis, "fsck", "--name", fixture.name, "--timeout", "20"], environment: fixture.environment, timeoutSeconds: 300)
        #expect(text.combined.contains("server \(down)") && text.combined.contains("did not answer"), "\(text.combined)")
    }

    @Test func aRepairRunBesideAWorkingClientChangesNothingOfItsWork() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/busy")
        let failures = Mutex<[String]>([])
        let worker = BackgroundLoop { shouldStop in
            var round = 0
            while !shouldStop() {
                do {
                    let path = "/busy/f\(round % 20)"
                    try fs.write(path, ByteBuffer(repeating: UInt8(round % 250), count: 9000), at: 0, create: true)
                    try fs.link(path + ".link", to: path)
                    try fs.rename(path + ".link", to: path + ".moved")
                    try fs.removeFile(path + ".moved")
                    if try fs.stat(path).linkCount != 1 { failures.withLock { $0.append("\(path): link count") } }
                    try fs.removeFile(path)
                } catch {
                    failures.withLock { $0.append("round \(round): \(error)") }
                }
                round += 1
            }
        }
        var checks: [(Int32, String)] = []
        for _ in 0..<3 {
            let check = try fsck(fixture, ["--repair", "--grace-seconds", "30"])
            checks.append((check.status, check.text))
        }
        worker.finish()
        for (status, text) in checks { #expect(status == 0, "\(text)") }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
    }
}
