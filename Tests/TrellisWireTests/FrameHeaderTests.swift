import Testing
import TrellisCore
@testable import TrellisWire

@Suite struct FrameHeaderTests {
    @Test func roundTripsEveryField() throws {
        var generator = SystemRandomNumberGenerator()
        for kind in FrameKind.allCases {
            for _ in 0..<200 {
                let header = FrameHeader(
                    kind: kind, flags: FrameFlags(rawValue: .random(in: 0...UInt16.max, using: &generator)),
                    tag: .random(in: Int32.min...Int32.max, using: &generator),
                    context: ContextID(owner: .random(in: 0...UInt64.max, using: &generator), serial: .random(in: 0...UInt64.max, using: &generator)),
                    sourceRank: .random(in: 0...UInt32.max, using: &generator), payloadLength: .random(in: 0...UInt64.max, using: &generator),
                    exchange: .random(in: 0...UInt64.max, using: &generator), aux: .random(in: 0...UInt64.max, using: &generator))
                let bytes = header.encoded()
                #expect(bytes.count == FrameHeader.byteCount)
                #expect(try FrameHeader.decode(bytes) == header)
            }
        }
    }

    @Test func isLittleEndianOnTheWire() {
        let header = FrameHeader(kind: .eager, tag: 0x0102_0304, context: ContextID(owner: 0x1122_3344_5566_7788, serial: 9), payloadLength: 0x0A0B)
        let bytes = header.encoded()
        #expect(bytes[0] == FrameHeader.currentVersion)
        #expect(bytes[1] == FrameKind.eager.rawValue)
        #expect(Array(bytes[4..<8]) == [0x04, 0x03, 0x02, 0x01])
        #expect(Array(bytes[8..<16]) == [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
        #expect(Array(bytes[32..<34]) == [0x0B, 0x0A])
    }

    @Test func rejectsUnknownVersionKindAndShortInput() {
        var bytes = FrameHeader(kind: .hello).encoded()
        bytes[0] = 99
        #expect(throws: TrellisError.self) { try FrameHeader.decode(bytes) }
        bytes = FrameHeader(kind: .hello).encoded()
        bytes[1] = 200
        #expect(throws: TrellisError.self) { try FrameHeader.decode(bytes) }
        #expect(throws: TrellisError.self) { try FrameHeader.decode(Array(bytes.prefix(20))) }
    }
}
