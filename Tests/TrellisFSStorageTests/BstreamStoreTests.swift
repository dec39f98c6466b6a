import Foundation
import NIOCore
import Testing
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

@Suite struct BstreamStoreTests {
    private func withStore(_ body: (BstreamStore) throws -> Void) throws {
        let folder = NSTemporaryDirectory() + "trellis-bstreams-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try body(try BstreamStore(folder: folder))
    }

    private let datafile0 = ObjectHandle(server: 1, serial: 42)
    private let datafile1 = ObjectHandle(server: 1, serial: 43)
    private let datafile2 = ObjectHandle(server: 1, serial: 44)
    private let datafile5 = ObjectHandle(server: 1, serial: 47)
    private let datafile7 = ObjectHandle(server: 1, serial: 49)

    @Test func regionsWriteAndReadBackWithZerosInTheHoles() throws {
        try withStore { store in
            let regions = [AccessPattern.Region(offset: 10, length: 3), .init(offset: 100, length: 2)]
            #expect(try store.write(datafile: datafile2, regions: regions, data: ByteBuffer(bytes: [1, 2, 3, 4, 5])) == 5)
            #expect(try store.size(datafile: datafile2) == 102)
            let back = try store.read(datafile: datafile2, regions: [.init(offset: 8, length: 6), .init(offset: 99, length: 10)], maximumBytes: 1 << 20)
            // Holes within the bstream are zeros; the reply stops at its last byte (102), so a client tells a hole from its end.
            #expect(Array(back.readableBytesView) == [0, 0, 1, 2, 3, 0] + [0, 4, 5])
            let around = try store.read(datafile: datafile2, regions: [.init(offset: 200, length: 4), .init(offset: 0, length: 11)], maximumBytes: 64)
            #expect(Array(around.readableBytesView) == [0, 0, 0, 0] + Array(repeating: 0, count: 10) + [1], "a region past the end before one within it reads as zeros")
            // A datafile never written has size 0 and no bytes to give.
            #expect(try store.size(datafile: datafile7) == 0)
            #expect(try store.read(datafile: datafile7, regions: [.init(offset: 0, length: 4)], maximumBytes: 64).readableBytes == 0)
        }
    }

    /// A removed bstream's file is emptied and kept, and the next new
    /// bstream is that file (same inode) holding only its own bytes; the
    /// kept files are no datafile's, and spares are made ahead of need.
    @Test func aRemovedBstreamBecomesTheNextNewOneWithNothingOfItsOldBytes() throws {
        try withStore { store in
            func inode(_ datafile: ObjectHandle) -> UInt64 {
                var status = stat()
                return stat(store.path(of: datafile), &status) == 0 ? UInt64(status.st_ino) : 0
            }
            _ = try store.write(datafile: datafile0, regions: [.init(offset: 0, length: 100)], data: ByteBuffer(repeating: 9, count: 100))
            let old = inode(datafile0)
            #expect(try store.remove(datafile: datafile0))
            #expect(store.recycledCount == 1)
            #expect(try store.size(datafile: datafile0) == 0)
            _ = try store.write(datafile: datafile1, regions: [.init(offset: 10, length: 2)], data: ByteBuffer(bytes: [1, 2]))
            #expect(inode(datafile1) == old, "the kept file became the new bstream")
            #expect(store.recycledCount == 0)
            #expect(try store.size(datafile: datafile1) == 12)
            let back = try store.read(datafile: datafile1, regions: [.init(offset: 0, length: 100)], maximumBytes: 1 << 20)
            #expect(Array(back.readableBytesView) == Array(repeating: 0, count: 10) + [1, 2], "nothing of the old bytes, and nothing past its own end")
            #expect(try store.storedDatafiles() == [datafile1])
            // A truncate that makes a bstream takes a kept file too.
            #expect(try store.remove(datafile: datafile1))
            try store.truncate(datafile: datafile2, size: 5)
            #expect(inode(datafile2) == old)
            #expect(Array(try store.read(datafile: datafile2, regions: [.init(offset: 0, length: 5)], maximumBytes: 64).readableBytesView) == [0, 0, 0, 0, 0])

            store.startMakingSpares()
            var waited = 0
            while store.recycledCount < 1024, waited < 600 {
                usleep(50_000)
                waited += 1
            }
            #expect(store.recycledCount == 1024, "spares are made up to their target")
            #expect(try store.storedDatafiles() == [datafile2])
            // With the thread running a removal only moves the file; the thread empties it soon after.
            _ = try store.write(datafile: datafile7, regions: [.init(offset: 0, length: 5000)], data: ByteBuffer(repeating: 7, count: 5000))
            #expect(try store.remove(datafile: datafile7))
            func keptBytes() throws -> Int {
                try FileManager.default.contentsOfDirectory(atPath: store.folder + "/.recycled").reduce(0) { total, name in
                    total + ((try FileManager.default.attributesOfItem(atPath: store.folder + "/.recycled/" + name)[.size] as? Int) ?? 0)
                }
            }
            waited = 0
            while try keptBytes() > 0, waited < 200 {
                usleep(50_000)
                waited += 1
            }
            #expect(try keptBytes() == 0, "the removed bstream's bytes are freed")
        }
        // A store opened on the folder again finds the kept files.
        let folder = NSTemporaryDirectory() + "trellis-bstreams-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try BstreamStore(folder: folder)
        _ = try first.write(datafile: datafile5, regions: [.init(offset: 0, length: 1)], data: ByteBuffer(bytes: [5]))
        _ = try first.write(datafile: datafile1, regions: [.init(offset: 0, length: 1)], data: ByteBuffer(bytes: [1]))
        #expect(try first.remove(datafile: datafile5))
        // A kept file that was linked into place when the process died is that bstream's, not kept.
        let linkedName = folder + "/.recycled/999"
        #expect(link(first.path(of: datafile1), linkedName) == 0)
        let reopened = try BstreamStore(folder: folder)
        #expect(reopened.recycledCount == 1)
        #expect(access(linkedName, F_OK) != 0)
        #expect(try reopened.size(datafile: datafile1) == 1, "the bstream itself stays")
        _ = try reopened.write(datafile: datafile7, regions: [.init(offset: 0, length: 1)], data: ByteBuffer(bytes: [7]))
        #expect(reopened.recycledCount == 0)
        #expect(try reopened.size(datafile: datafile7) == 1)
    }

    @Test func truncateSyncAndRemove() throws {
        try withStore { store in
            _ = try store.write(datafile: datafile0, regions: [.init(offset: 0, length: 8)], data: ByteBuffer(repeating: 9, count: 8))
            try store.truncate(datafile: datafile0, size: 3)
            #expect(try store.size(datafile: datafile0) == 3)
            try store.truncate(datafile: datafile0, size: 1 << 30)
            #expect(try store.size(datafile: datafile0) == 1 << 30)
            try store.sync(datafile: datafile0)
            try store.sync(datafile: datafile5)
            #expect(try store.remove(datafile: datafile0))
            #expect(try !store.remove(datafile: datafile0))
            #expect(try store.size(datafile: datafile0) == 0)
        }
    }

    @Test func mismatchedAndOversizedRequestsAreErrors() throws {
        try withStore { store in
            #expect(throws: FSError.self) { try store.write(datafile: datafile0, regions: [.init(offset: 0, length: 4)], data: ByteBuffer(repeating: 1, count: 3)) }
            #expect(throws: FSError.self) { try store.read(datafile: datafile0, regions: [.init(offset: 0, length: 1 << 21)], maximumBytes: 1 << 20) }
            #expect(throws: FSError.self) { try store.write(datafile: datafile0, regions: [.init(offset: 1 << 62, length: 1)], data: ByteBuffer(bytes: [1])) }
        }
    }

    /// A storage folder on a 64 KiB tmpfs: a write that does not fit is a
    /// `noSpace` error naming the bstream, and what was written before stays.
    @Test func aFullStorageFolderIsANoSpaceError() throws {
        try withSmallTmpfs(bytes: 64 << 10) { folder in
            let store = try BstreamStore(folder: folder + "/bstreams")
            _ = try store.write(datafile: datafile0, regions: [.init(offset: 0, length: 4096)], data: ByteBuffer(repeating: 7, count: 4096))
            let full = try #require(throws: FSError.self) {
                try store.write(datafile: datafile1, regions: [.init(offset: 0, length: 1 << 17)], data: ByteBuffer(repeating: 1, count: 1 << 17))
            }
            #expect(full.code == .noSpace && full.message.contains(store.path(of: datafile1)), "\(full)")
            #expect(Array(try store.read(datafile: datafile0, regions: [.init(offset: 0, length: 4096)], maximumBytes: 1 << 20).readableBytesView) == Array(repeating: 7, count: 4096))
        }
    }
}
