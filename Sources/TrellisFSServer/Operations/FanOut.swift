import TrellisFSProtocol

extension FanOut: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> FanOutResult {
        let (result, steps) = try handler.fanOut(work, over: servers)
        call.steps = steps
        return result
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        servers.count > 1
    }
}
