import NIOCore
import TrellisFSClient

// The code samples of the client library's documentation, copied here so
// that the compiler checks them on every build. Nothing calls them.

/// The catalog's getting-started sample (TrellisFSClient.docc).
private func gettingStartedSample() throws {
    let fs = try FileSystemClient.connect(name: "trellis")
    defer { fs.close() }
    try fs.makeDirectories("/results/run1")
    let file = try fs.open("/results/run1/out", access: .readWrite, create: true)
    try file.write(ByteBuffer(string: "hello"), at: 0)
    let back = try file.read(at: 0, length: 5)
    try file.close()
    let strided = try fs.read("/results/run1/out", pattern: try .strided(offset: 0, groupSize: 1, stride: 2, count: 3))
    print(String(buffer: back), strided.readableBytes, try fs.stat("/results/run1/out").size)
}

/// `OpenFile` (OpenFile.swift).
private func openFileSample(fs: FileSystemClient) throws {
    let file = try fs.open("/results/out", access: .readWrite, create: true)
    try file.write(ByteBuffer(string: "hello"), at: 0)
    let back = try file.read(at: 0, length: 5)
    try file.close()
    _ = back
}
