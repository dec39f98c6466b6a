import CTrellisSystem
import Glibc
import TrellisCore

/// Starts a joinable OS thread running `body`. For loops that block in
/// system calls (progress, pipe readers), where a task would tie up the
/// cooperative pool. `name` (at most 15 bytes are kept) is what `top -H`,
/// `ps -L` and `perf` show for it; without one it inherits its starter's.
public func startThread(named name: String? = nil, _ body: @escaping () -> Void) -> pthread_t? {
    final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    let body: () -> Void = name.map { name in { _ = trellis_name_this_thread(name); body() } } ?? body
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let result = pthread_create(&thread, nil, { argument in
        Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue().body()
        return nil
    }, box)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        return nil
    }
    return thread
}
