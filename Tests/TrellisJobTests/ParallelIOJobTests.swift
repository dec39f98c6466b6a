import Foundation
import Testing
import TrellisSystem

/// The MPI-IO layer run by real ranks of a job: random views and hints,
/// collective writes from 1 to 8 ranks checked byte by byte against a
/// serial layout, reads back through the views (collective, independent,
/// nonblocking, past the end), and the error cases; on a POSIX file and on
/// a Trellis file system.
@Suite(.serialized) struct ParallelIOJobTests {
    @Test(arguments: [1, 2, 3, 5, 8])
    func collectiveWritesOfRandomViewsOnAPosixFile(ranks: Int) throws {
        let folder = NSTemporaryDirectory() + "trellis-parallel-io-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try JobHarness.scenario(
            "parallel-io", ranks: ranks, environment: ["TRELLIS_TEST_DIR": folder, "TRELLIS_TEST_SEED": String(ranks * 17 + 3), "TRELLIS_TEST_ROUNDS": "5"])
    }

    @Test(arguments: [1, 4, 8])
    func collectiveWritesOfRandomViewsOnATrellisFile(ranks: Int) throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1000)
        var environment = fixture.environment
        environment["TRELLIS_TEST_FS_NAME"] = fixture.name
        environment["TRELLIS_TEST_SEED"] = String(ranks * 31 + 5)
        environment["TRELLIS_TEST_ROUNDS"] = "4"
        try JobHarness.scenario("parallel-io", ranks: ranks, environment: environment)
        let fs = try fixture.client()
        defer { fs.close() }
        #expect(try fs.list("/").isEmpty, "every round removes its file")
    }
}
