import NIOCore
import Testing
import TrellisCore
import TrellisFSProtocol
@testable import TrellisClusterTools

/// The manifest rank 0 broadcasts: it comes back as it went, and what a
/// broken or hostile one says never reaches outside the destination.
struct StageManifestTests {
    private func randomManifest(_ generator: inout SeededGenerator) -> StageManifest {
        let kinds: [StageEntry.Kind] = [.directory, .file, .symlink, .hardLink]
        let entries = (0..<Int.random(in: 0...40, using: &generator)).map { index -> StageEntry in
            let kind = kinds.randomElement(using: &generator)!
            var entry = StageEntry(
                path: "d\(index % 3)/n é \(index)", kind: kind, mode: UInt32.random(in: 0...0o7777, using: &generator),
                uid: UInt32.random(in: 0...70000, using: &generator), gid: UInt32.random(in: 0...70000, using: &generator),
                modified: Timestamp(seconds: Int64.random(in: -1_000_000...4_000_000_000, using: &generator), nanoseconds: UInt32.random(in: 0..<1_000_000_000, using: &generator)),
                size: kind == .file ? Int64.random(in: 0...(1 << 40), using: &generator) : 0,
                target: kind == .symlink ? "../../anything/at all" : kind == .hardLink ? "d0/first" : "")
            if Bool.random(using: &generator) {
                entry.extendedAttributes = [ExtendedAttribute(name: "user.a\(index)", value: (0..<index).map { UInt8(truncatingIfNeeded: $0) })]
            }
            if kind == .file, Bool.random(using: &generator) { entry.digest = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) } }
            return entry
        }
        var manifest = StageManifest(entries: entries, tag: String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36))
        if Bool.random(using: &generator) { manifest.root = StageEntry(path: "", kind: .directory, mode: 0o750, modified: Timestamp(seconds: 5, nanoseconds: 6)) }
        return manifest
    }

    @Test func everyManifestComesBackAsItWent() throws {
        var generator = SeededGenerator(seed: 18)
        for _ in 0..<200 {
            let manifest = randomManifest(&generator)
            #expect(try StageManifest(decoding: manifest.encoded()) == manifest)
        }
        let failed = StageManifest(entries: [], tag: "t", error: "h0: cannot read the source /x")
        #expect(try StageManifest(decoding: failed.encoded()) == failed)
    }

    @Test func everyTruncationIsAnErrorNeverACrash() throws {
        var generator = SeededGenerator(seed: 19)
        let whole = randomManifest(&generator).encoded()
        for length in 0..<whole.readableBytes {
            #expect(throws: TrellisError.self) { try StageManifest(decoding: whole.getSlice(at: 0, length: length)!) }
        }
    }

    @Test func pathsThatLeaveTheDestinationAreRefused() throws {
        for path in ["", "/etc/passwd", "..", "a/../../b", "a//b", "./a", "a/.", "a\0b"] {
            let manifest = StageManifest(entries: [StageEntry(path: path, kind: .file, mode: 0o644)], tag: "t")
            #expect(throws: TrellisError.self, "\(path)") { try StageManifest(decoding: manifest.encoded()) }
        }
        let link = StageManifest(entries: [StageEntry(path: "x", kind: .hardLink, mode: 0o644, target: "../../etc/shadow")], tag: "t")
        #expect(throws: TrellisError.self) { try StageManifest(decoding: link.encoded()) }
        // A symlink's text is the user's to choose, as with cp and rsync.
        let symlink = StageManifest(entries: [StageEntry(path: "x", kind: .symlink, mode: 0o777, target: "/etc/passwd")], tag: "t")
        #expect(try StageManifest(decoding: symlink.encoded()) == symlink)
    }

    @Test func compressedChunksComeBackWholeAndIncompressibleOnesTravelRaw() throws {
        let codec = ChunkCodec(compressing: true)
        let text = ByteBuffer(string: String(repeating: "trellis stage ", count: 10_000))
        let packed = codec.encode(ChunkCodec.framed(text))
        #expect(packed.readableBytes < text.readableBytes / 10)
        #expect(try codec.decode(packed) == text)
        var generator = SeededGenerator(seed: 3)
        let noise = ByteBuffer(bytes: (0..<65536).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let sent = codec.encode(ChunkCodec.framed(noise))
        #expect(sent.readableBytes == noise.readableBytes + 1 && sent.getInteger(at: 0, as: UInt8.self) == 0)
        #expect(try codec.decode(sent) == noise)
        var corrupt = packed
        corrupt.setInteger(UInt8(0xFF), at: 10)
        #expect(throws: TrellisError.self) { try codec.decode(corrupt) }
    }
}
