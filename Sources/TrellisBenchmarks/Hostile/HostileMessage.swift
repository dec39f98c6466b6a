import NIOCore
import TrellisCore
import TrellisLauncher
import TrellisWire

/// One message of the hostile-input campaign: bytes no honest peer sends,
/// of one of four kinds, shaped for the protocol of the port they go to.
struct HostileMessage {
    /// What is wrong with it.
    enum Kind: String, CaseIterable {
        /// Bytes drawn at random.
        case random
        /// A well-formed start (a frame header, a request line) cut short.
        case truncated
        /// A length, or a line, beyond what the port accepts.
        case oversized
        /// A message the port would take, with bytes flipped, added or dropped.
        case mutated
    }

    /// How the port frames what it reads.
    enum Framing {
        /// The runtime's frames (file-system servers): a 56-byte header, then its payload.
        case frames
        /// One request per line (the name service's JSON, the launcher's PMI).
        case lines
        /// The links of a job's tree: a 4-byte length, then a message, sealed once the handshake is done.
        case links
    }

    let kind: Kind
    let bytes: [UInt8]

    /// Lines a line-framed port takes from honest peers, to be mutated. None
    /// of them changes anything there (no publish, no shutdown, no PMI
    /// identification): a mutation that stays well-formed must not give the
    /// campaign a power that an honest unauthenticated peer lacks.
    static let honestLines = [
        #"{"operation":"lookup","service":"trellis-fs/hostile/0"}"#,
        #"{"operation":"list"}"#,
        #"{"operation":"status"}"#,
        "cmd=init pmi_version=1 pmi_subversion=1",
        "cmd=get_maxes",
        "cmd=get_appnum",
        "cmd=get_my_kvsname",
        "cmd=barrier_in",
        "cmd=get kvsname=kvs_0 key=PMI_process_mapping",
    ]

    /// The frame kinds a runtime port reads, the handshake's first.
    private static let frameKinds: [FrameKind] = [.hello, .challenge, .helloAcknowledge, .eager, .readyToSend, .rendezvousData, .control, .goodbye]

    /// The next message for a port of `framing`, drawn with `generator`;
    /// `longestLine` is the longest line the port is known to take.
    static func next(for framing: Framing, longestLine: Int, using generator: inout SeededGenerator) -> HostileMessage {
        let kind = Kind.allCases.randomElement(using: &generator)!
        switch (framing, kind) {
        case (_, .random):
            return HostileMessage(kind: kind, bytes: randomBytes(Int.random(in: 1...4096, using: &generator), &generator))
        case (.frames, .truncated):
            var header = randomHeader(&generator)
            header.payloadLength = UInt64.random(in: 1...65_536, using: &generator)
            let sent = Int.random(in: 0..<Int(min(header.payloadLength, 512)), using: &generator)
            let encoded = header.encoded()
            return HostileMessage(kind: kind, bytes: Array(encoded.prefix(Int.random(in: 1...encoded.count, using: &generator))) + randomBytes(sent, &generator))
        case (.frames, .oversized):
            var header = randomHeader(&generator)
            header.payloadLength = [UInt64.max, 1 << 40, UInt64(Int32.max) + 1, 1 << 31].randomElement(using: &generator)!
            return HostileMessage(kind: kind, bytes: header.encoded() + randomBytes(Int.random(in: 0...256, using: &generator), &generator))
        case (.frames, .mutated):
            var header = randomHeader(&generator)
            let payload = randomBytes(Int.random(in: 0...96, using: &generator), &generator)
            header.payloadLength = UInt64(payload.count)
            return HostileMessage(kind: kind, bytes: mutate(header.encoded() + payload, &generator))
        case (.lines, .truncated):
            let line = Array(honestLines.randomElement(using: &generator)!.utf8)
            return HostileMessage(kind: kind, bytes: Array(line.prefix(Int.random(in: 1..<line.count, using: &generator))))
        case (.lines, .oversized):
            // Over the longest line the port takes, with no newline; one time in eight, since each costs a megabyte.
            let length = Int.random(in: 0..<8, using: &generator) == 0 ? longestLine + 1 : Int.random(in: 4096...65_536, using: &generator)
            return HostileMessage(kind: kind, bytes: [UInt8](repeating: UInt8(ascii: "x"), count: length))
        case (.lines, .mutated):
            let line = Array(honestLines.randomElement(using: &generator)!.utf8) + [UInt8(ascii: "\n")]
            return HostileMessage(kind: kind, bytes: mutate(line, &generator))
        case (.links, .truncated):
            let frame = linkFrame(&generator)
            return HostileMessage(kind: kind, bytes: Array(frame.prefix(Int.random(in: 1..<frame.count, using: &generator))))
        case (.links, .oversized):
            let lengths: [UInt32] = [.max, 1 << 28 + 1, UInt32(LinkMessage.maximumHandshakeFrameBytes + 1), 1 << 20]
            let length = lengths.randomElement(using: &generator)!
            return HostileMessage(kind: kind, bytes: withUnsafeBytes(of: length.bigEndian) { Array($0) } + randomBytes(Int.random(in: 1...4096, using: &generator), &generator))
        case (.links, .mutated):
            return HostileMessage(kind: kind, bytes: mutate(linkFrame(&generator), &generator))
        }
    }

    /// A frame as a proxy, or a stranger posing as one, might send: a hello
    /// or join with a proof made without the job's key, or a message that
    /// only a proxy past its handshake may send.
    private static func linkFrame(_ generator: inout SeededGenerator) -> [UInt8] {
        let nonce = randomBytes(32, &generator)
        let proof = randomBytes(32, &generator)
        let message: LinkMessage
        switch Int.random(in: 0..<6, using: &generator) {
        case 0, 1: message = .hello(position: Int.random(in: -1...3, using: &generator), nonce: nonce, proof: proof)
        case 2: message = .join(host: "hostile-b", port: Int.random(in: 1...65_535, using: &generator), nonce: nonce, proof: proof)
        case 3: message = .fenceEnter(puts: ["key": "value"])
        case 4: message = .abort(rank: 0, code: 1, message: "from a stranger")
        default: message = .done
        }
        return Array(message.encoded().readableBytesView)
    }

    private static func randomBytes(_ count: Int, _ generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// A header of the current version and a real kind, every other field drawn at random.
    private static func randomHeader(_ generator: inout SeededGenerator) -> FrameHeader {
        FrameHeader(
            kind: frameKinds.randomElement(using: &generator)!, flags: FrameFlags(rawValue: UInt16.random(in: 0...3, using: &generator)),
            tag: Int32.random(in: -2...100, using: &generator), context: ContextID(owner: UInt64.random(in: 0...3, using: &generator), serial: 0),
            exchange: UInt64.random(in: 0...UInt64.max, using: &generator), aux: UInt64.random(in: 0...2, using: &generator))
    }

    /// One to four bytes flipped, inserted or removed.
    private static func mutate(_ bytes: [UInt8], _ generator: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
            let index = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: bytes[index] ^= UInt8.random(in: 1...255, using: &generator)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: index)
            default: bytes.remove(at: index)
            }
        }
        return bytes
    }
}
