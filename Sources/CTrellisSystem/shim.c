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
