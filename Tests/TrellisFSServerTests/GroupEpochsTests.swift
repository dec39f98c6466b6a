import Foundation
import Testing
import TrellisFSProtocol
import TrellisFSServer

@Suite struct GroupEpochsTests {
    /// A server promises each epoch once, never one at or below what it
    /// knows, and still knows its promises and the groups' members after a restart.
    @Test func promisesAreGivenOnceAndOutliveARestart() throws {
        let folder = NSTemporaryDirectory() + "trellis-epochs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let placement = try ReplicaPlacement(hosts: ["a", "b", "c"], replicas: 2)
        let path = folder + "/group-epochs.json"
        let epochs = try GroupEpochs(path: path, placement: placement)
        #expect(epochs.entry(1) == GroupEpochs.Entry(epoch: 0, members: placement.members[1], promised: 0))
        #expect(try epochs.promise(1, epoch: 1))
        #expect(try !epochs.promise(1, epoch: 1))
        #expect(try epochs.record(1, epoch: 1, members: [2]))
        #expect(try !epochs.promise(1, epoch: 1))
        #expect(try !epochs.record(1, epoch: 1, members: [1]))

        let reopened = try GroupEpochs(path: path, placement: placement)
        #expect(reopened.entry(1) == GroupEpochs.Entry(epoch: 1, members: [2], promised: 1))
        #expect(reopened.view(1) == GroupView(epoch: 1, members: [2]))
        #expect(reopened.entry(0) == GroupEpochs.Entry(epoch: 0, members: placement.members[0], promised: 0))
        #expect(try reopened.promise(1, epoch: 2))
        #expect(reopened.entry(7) == nil)
        #expect(try !reopened.promise(7, epoch: 1))
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: FSError.self) { try GroupEpochs(path: path, placement: placement) }
    }
}
