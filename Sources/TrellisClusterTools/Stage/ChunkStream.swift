import NIOCore
import TrellisRuntime

/// `bytes` bytes from rank 0 of `group` to every rank, as a stream of
/// pipelined broadcasts of `chunkBytes` each with `window` of them in
/// flight: every level of the broadcast tree stays busy, and memory stays
/// near `window` chunks on every host whatever the size. Stage sends its
/// whole data this way, sync each batch of files.
struct ChunkStream {
    let group: Communicator
    let bytes: Int64
    let chunkBytes: Int
    let window: Int

    /// Runs the stream. At rank 0, `read(n)` gives the next `n` bytes to send
    /// (it is nil at every other rank); at every rank, `receive` gets each
    /// chunk in order with the bytes done so far, counting that chunk.
    func run(read: ((Int) -> ByteBuffer)?, receive: (_ chunk: ByteBuffer, _ done: Int64) throws -> Void) throws {
        let chunk = Int64(chunkBytes)
        let chunks = Int((bytes + chunk - 1) / chunk)
        var inFlight: [Request<ByteBuffer>] = []
        var posted = 0
        func post() throws {
            if let read {
                inFlight.append(try group.ibroadcast(read(Int(min(chunk, bytes - Int64(posted) * chunk))), root: 0, pipelined: true))
            } else {
                inFlight.append(try group.ibroadcast(nil, root: 0))
            }
            posted += 1
        }
        while posted < min(window, chunks) { try post() }
        for index in 0..<chunks {
            let data = try inFlight.removeFirst().wait()
            if posted < chunks { try post() }
            try receive(data, min(bytes, Int64(index + 1) * chunk))
        }
    }
}
