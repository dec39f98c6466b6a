// A tiny persistent service: the server publishes a name and echoes for
// clients that come and go; it never parks a thread in accept.
//   trellis names start --daemon
//   .build/debug/example-echo-service serve &
//   .build/debug/example-echo-service ask "hello"      (as often as you like)
//   .build/debug/example-echo-service ask --stop       (ends the server)
import NIOCore
import TrellisCore
import TrellisRuntime

let arguments = Array(CommandLine.arguments.dropFirst())
let runtime = try Runtime.initialize()
let serviceName = "example-echo"

if arguments.first == "serve" {
    let port = runtime.openPort()
    try runtime.publish(name: serviceName, port: port.name.description)
    print("serving \(serviceName) at \(port.name)")
    var accept = try runtime.selfCommunicator.iaccept(port)
    var clients: [(communicator: Communicator, next: Request<Message>)] = []
    var running = true
    while running {
        // One wait covers the pending accept and every client's pending receive.
        let ready = try waitAny([accept] + clients.map(\.next))
        if ready == 0 {
            let client = try accept.wait()
            clients.append((client, try client.ireceive(from: .rank(0))))
            accept = try runtime.selfCommunicator.iaccept(port)
            continue
        }
        let client = clients[ready - 1]
        do {
            let message = try client.next.wait()
            running = message.tag != 99
            try client.communicator.send(message.payload, to: 0, tag: message.tag, deadline: .after(seconds: 10))
            clients[ready - 1].next = try client.communicator.ireceive(from: .rank(0))
        } catch {
            // The client went away (or was killed): free what it held and go on.
            print("a client left: \(error)")
            _ = client.communicator.idisconnect()
            clients.remove(at: ready - 1)
        }
    }
    accept.cancel()
    for client in clients { client.next.cancel(); try client.communicator.disconnect() }
    try runtime.unpublish(name: serviceName)
    port.close()
    print("server stopped")
} else {
    let stop = arguments.contains("--stop")
    let text = arguments.dropFirst().first { $0 != "--stop" } ?? "ping"
    let portName = try runtime.lookup(name: serviceName, deadline: .after(seconds: 10))
    let server = try runtime.selfCommunicator.connect(to: portName, deadline: .after(seconds: 10))
    try server.send(ByteBuffer(string: text), to: 0, tag: stop ? 99 : 1)
    let echo = try server.receive(from: .rank(0), deadline: .after(seconds: 10))
    print("echo: \(String(buffer: echo.payload))")
    try server.disconnect()
}
try runtime.finalize()
