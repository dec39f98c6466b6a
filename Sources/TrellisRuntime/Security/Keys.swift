// The cluster key and where a process finds it live below the runtime, so
// that the name service, which the runtime itself uses, can ask for it too.
@_exported import TrellisKeys
