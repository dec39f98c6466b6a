import NIOCore
import TrellisCore
import TrellisRuntime

// The code samples of the runtime's doc comments, copied here so that the
// compiler checks them on every build (a sample that stops compiling fails
// the build). Nothing calls these functions.

/// `Request` (Requests/Request.swift).
private func requestSample(world: Communicator) throws {
    let incoming = try world.ireceive(from: .any, tag: 7)
    let outgoing = try world.isend(ByteBuffer(string: "hi"), to: 1, tag: 7)
    try outgoing.wait()
    let message = try incoming.wait(timeout: .seconds(5))
    _ = message
}

/// `Communicator.openPort` and `iaccept` (Dynamic/Communicator+Connect.swift).
private func connectSample(runtime: Runtime) throws {
    let port = runtime.openPort()
    try runtime.publish(name: "echo", port: port.name.description)
    let pending = try runtime.selfCommunicator.iaccept(port)
    _ = pending
}

/// Name publishing (Runtime+Names.swift).
private func namesSample(runtime: Runtime) throws {
    let port = runtime.openPort()
    try runtime.publish(name: "echo", port: port.name.description)
    let name = try runtime.lookup(name: "echo", deadline: .after(seconds: 10))
    _ = name
}

/// `GeneralizedRequest` (Requests/GeneralizedRequest.swift).
private func generalizedRequestSample(runtime: Runtime, incoming: Request<Message>) throws {
    let stop = runtime.startGeneralizedRequest("stop of the echo service")
    stop.complete()
    if try waitAny([stop, incoming]) == 0 { return }
}
