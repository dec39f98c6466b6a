import Glibc

extension Timestamp {
    /// The wall clock now.
    @Sendable public static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(time)
    }

    /// The moment a `timespec` (as stat and clock_gettime give it) holds.
    public init(_ time: timespec) {
        self.init(seconds: Int64(time.tv_sec), nanoseconds: UInt32(time.tv_nsec))
    }
}

extension timespec {
    /// The moment a `Timestamp` holds, as utimensat and FUSE's replies take it.
    public init(_ time: Timestamp) {
        self.init(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))
    }
}
