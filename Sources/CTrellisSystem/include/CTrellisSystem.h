#ifndef CTRELLIS_SYSTEM_H
#define CTRELLIS_SYSTEM_H

#include <stdint.h>
#include <sys/types.h>
#include <spawn.h>
/* Extended attributes (l/f get, set, list, remove), which Glibc's module leaves out. */
#include <sys/xattr.h>

/* Thin shims over Linux calls that Swift's Glibc module does not import
   (epoll's packed event struct, eventfd, prctl). Everything else is
   called straight from Swift. */

int trellis_epoll_create(void);
int trellis_epoll_add(int epfd, int fd, uint32_t events);
int trellis_epoll_modify(int epfd, int fd, uint32_t events);
int trellis_epoll_remove(int epfd, int fd);
/* Fills fds[i] and events[i] for each ready descriptor; returns the count or -1. */
int trellis_epoll_wait(int epfd, int *fds, uint32_t *events, int max, int timeout_ms);

extern const uint32_t TRELLIS_EPOLLIN;
extern const uint32_t TRELLIS_EPOLLOUT;
extern const uint32_t TRELLIS_EPOLLERR;
extern const uint32_t TRELLIS_EPOLLHUP;
extern const uint32_t TRELLIS_EPOLLRDHUP;

int trellis_eventfd(void);
/* accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC; -1 when nothing is pending. */
int trellis_accept(int listen_fd);
int trellis_set_nodelay(int fd);
/* Names the calling thread (at most 15 bytes kept), for top -H, ps -L and perf. */
int trellis_name_this_thread(const char *name);
int trellis_set_nonblocking(int fd);
/* Sets both socket buffers; the kernel caps them at net.core.[rw]mem_max. */
int trellis_set_buffer_sizes(int fd, int bytes);
int trellis_set_cloexec(int fd, int on);
int trellis_pipe_cloexec(int fds[2]);
/* Makes the calling process receive `signal` when its parent dies. */
int trellis_set_parent_death_signal(int signal);

/* Makes malloc keep large buffers in the heap and not return freed memory
   below trim_threshold bytes. */
int trellis_keep_large_allocations(size_t trim_threshold);

/* Starts `path` (no PATH search) with `argv` and `envp`: stdin from
   `stdin_fd` (-1: /dev/null), stdout and stderr, then each from[i] as to[i];
   default signal handling; in `process_group` (0: a new one); and, when
   `death_signal` > 0, killed by it when the calling thread ends (the
   process, for a launcher's single-threaded loop), even by SIGKILL.
   Descriptors are placed in that order, so no source may be an earlier
   target. Returns the pid, or -errno when the program could not be started. */
pid_t trellis_spawn_tied(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                         int stderr_fd, const int *from, const int *to, int count, pid_t process_group, int death_signal);

/* posix_spawn_file_actions_addclosefrom_np, which Swift's Glibc module does not show. */
int trellis_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from);

/* A byte ring shared by two processes (shared_ring.c): one producer, one
   consumer, each side's counter on a cache line of its own. */
#include <sys/uio.h>
typedef struct trellis_ring_control {
    uint64_t head;
    uint8_t head_line[56];
    uint64_t tail;
    uint8_t tail_line[56];
    uint32_t consumer_sleeping;
    uint8_t consumer_line[60];
    uint32_t producer_waiting;
    uint8_t producer_line[60];
} trellis_ring_control;

/* Copies as much of the vectors as fits; sets *wake_consumer when the consumer was asleep. */
size_t trellis_ring_write(trellis_ring_control *ring, uint8_t *data, size_t capacity, const struct iovec *vectors, int count,
                          int *wake_consumer);
/* Copies at most `maximum` bytes out; sets *wake_producer when the producer waited for room. */
size_t trellis_ring_read(trellis_ring_control *ring, uint8_t *data, size_t capacity, uint8_t *target, size_t maximum,
                         int *wake_producer);
size_t trellis_ring_readable(const trellis_ring_control *ring);
size_t trellis_ring_writable(const trellis_ring_control *ring, size_t capacity);
/* Marks the consumer (producer) asleep; returns whether it may sleep (nothing to read, no room). */
int trellis_ring_consumer_will_sleep(trellis_ring_control *ring);
void trellis_ring_consumer_awake(trellis_ring_control *ring);
int trellis_ring_producer_will_sleep(trellis_ring_control *ring, size_t capacity);
void trellis_ring_producer_awake(trellis_ring_control *ring);
int trellis_memfd_create(const char *name);

#endif
