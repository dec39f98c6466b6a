#define _GNU_SOURCE
#include "CTrellisSystem.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <stddef.h>
#include <malloc.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <spawn.h>
#include <linux/close_range.h>
#include <sys/wait.h>

const uint32_t TRELLIS_EPOLLIN = EPOLLIN;
const uint32_t TRELLIS_EPOLLOUT = EPOLLOUT;
const uint32_t TRELLIS_EPOLLERR = EPOLLERR;
const uint32_t TRELLIS_EPOLLHUP = EPOLLHUP;
const uint32_t TRELLIS_EPOLLRDHUP = EPOLLRDHUP;

int trellis_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int control(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = 0;
    ev.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &ev);
}

int trellis_epoll_add(int epfd, int fd, uint32_t events) { return control(epfd, EPOLL_CTL_ADD, fd, events); }
int trellis_epoll_modify(int epfd, int fd, uint32_t events) { return control(epfd, EPOLL_CTL_MOD, fd, events); }
int trellis_epoll_remove(int epfd, int fd) { return control(epfd, EPOLL_CTL_DEL, fd, 0); }

int trellis_epoll_wait(int epfd, int *fds, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, ready, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = ready[i].data.fd;
        events[i] = ready[i].events;
    }
    return n;
}

int trellis_accept(int listen_fd) { return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int trellis_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int trellis_set_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int trellis_set_buffer_sizes(int fd, int bytes) {
    int a = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
    int b = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
    return a | b;
}

int trellis_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* A pipe whose ends are closed on exec from the start: set afterwards, a
   process that another thread spawns in between would keep them open. */
int trellis_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int trellis_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC));
}

int trellis_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

int trellis_keep_large_allocations(size_t trim_threshold) {
    /* Serve large buffers from the heap instead of fresh mappings, and keep
       freed memory: a new mapping per large message costs a page fault per
       4 KiB page on every receive. */
    /* One arena: the progress thread and the application thread then reuse
       the same freed buffers, and no per-thread heap caps a buffer at 64 MiB. */
    mallopt(M_ARENA_MAX, 1);
    int a = mallopt(M_MMAP_MAX, 0);
    int b = mallopt(M_TRIM_THRESHOLD, (int)(trim_threshold > 0x7fffffff ? 0x7fffffff : trim_threshold));
    return (a && b) ? 0 : -1;
}

/* posix_spawn cannot set the parent-death signal, so ranks and forked
 * proxies start through this instead: fork, then only async-signal-safe
 * calls (a multithreaded parent), then exec. An exec failure comes back
 * over a close-on-exec pipe as -errno, as posix_spawn reports it. */
pid_t trellis_spawn_tied(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                         int stderr_fd, const int *from, const int *to, int count, pid_t process_group, int death_signal) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -errno;
    /* Above any descriptor the child is given, so no dup2 below lands on it. */
    int lowest = 3;
    for (int i = 0; i < count; i++) if (to[i] >= lowest) lowest = to[i] + 1;
    int writer = fcntl(report[1], F_DUPFD_CLOEXEC, lowest);
    close(report[1]);
    if (writer < 0) {
        int code = errno;
        close(report[0]);
        return -code;
    }
    pid_t parent = getpid();
    /* No signal may run this process's handlers in the child before they are reset. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid != 0) pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        int code = errno;
        close(report[0]);
        close(writer);
        return -code;
    }
    if (pid == 0) {
        static const int defaults[] = {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
        struct sigaction plain;
        memset(&plain, 0, sizeof plain);
        plain.sa_handler = SIG_DFL;
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) sigaction(defaults[i], &plain, NULL);
        int code = 0;
        if (setpgid(0, process_group) != 0 && process_group != 0) code = errno;
        if (code == 0 && death_signal > 0) {
            prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0);
            /* The parent may have died before the line above took effect. */
            if (getppid() != parent) _exit(1);
        }
        int input = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
        const int sources[3] = {input, stdout_fd, stderr_fd};
        for (int target = 0; code == 0 && target < 3; target++) {
            if (sources[target] == target) {
                fcntl(target, F_SETFD, 0);
            } else if (sources[target] < 0 || dup2(sources[target], target) < 0) {
                code = sources[target] < 0 ? EBADF : errno;
            }
        }
        for (int i = 0; code == 0 && i < count; i++) {
            if (from[i] == to[i]) {
                fcntl(to[i], F_SETFD, 0);
            } else if (dup2(from[i], to[i]) < 0) {
                code = errno;
            }
        }
        /* Nothing else of the parent's goes along (a caller's lock file or pipe
         * opened without close-on-exec would live as long as the child). */
        if (code == 0 && close_range((unsigned)lowest, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
            for (int fd = lowest; fd < 65536; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (code == 0) {
            execve(path, argv, envp);
            code = errno;
        }
        ssize_t ignored = write(writer, &code, sizeof code);
        (void)ignored;
        _exit(127);
    }
    close(writer);
    int code = 0;
    ssize_t got;
    do {
        got = read(report[0], &code, sizeof code);
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof code && code != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return -code;
    }
    return pid;
}

int trellis_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int trellis_name_this_thread(const char *name) {
    char kept[16];
    strncpy(kept, name, 15);
    kept[15] = 0;
    return pthread_setname_np(pthread_self(), kept);
}
