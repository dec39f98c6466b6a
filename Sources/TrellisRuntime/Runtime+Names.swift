import TrellisCore
import TrellisNames
import TrellisSystem

/// Name publishing (MPI_Publish_name / MPI_Lookup_name) through the
/// persistent name service, across independently started processes,
/// singletons included.
///
/// ```swift
/// let port = runtime.openPort()
/// try runtime.publish(name: "echo", port: port.name.description)
/// // in another process:
/// let name = try runtime.lookup(name: "echo", deadline: .after(seconds: 10))
/// ```
extension Runtime {
    /// Publishes `port` under `name`, held on a lease that this process
    /// renews; the name goes when the process ends, however it ends.
    public func publish(name: String, port: String) throws {
        try namePublisher().publish(service: name, port: port)
    }

    /// Withdraws a name this process published, as MPI_Unpublish_name; throws
    /// `nameNotFound` when it has not published `name`.
    public func unpublish(name: String) throws {
        try namePublisher().unpublish(service: name)
    }

    /// The port published under `name`. Without a deadline a missing name
    /// fails at once (`nameNotFound`); with one, the lookup waits for it.
    public func lookup(name: String, deadline: Deadline? = nil) throws -> String {
        try namePublisher().lookup(service: name, deadline: deadline)
    }

    func namePublisher() throws -> NamePublisher {
        try names.withLock { current in
            if let current { return current }
            let environment = ProcessEnvironment.current()
            let address = try NameServiceLocation.resolve(environment: environment).address
            let publisher = NamePublisher(address: address, publisherID: "\(processID)", environment: environment, logger: engine.logger)
            current = publisher
            return publisher
        }
    }
}
