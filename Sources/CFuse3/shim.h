// libfuse3's low-level API, at the version Debian 12 ships (3.14).
#ifndef TRELLIS_CFUSE3_SHIM_H
#define TRELLIS_CFUSE3_SHIM_H

// 3.12's API: below it, fuse_session_loop_mt reads its configuration as
// the old public struct, and a fuse_loop_cfg_create one read that way has
// an idle-thread limit of 0, which starts and ends a thread per request.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

// fuse_session_loop_mt is a macro that picks a versioned symbol, which
// Swift cannot call; this names the 3.12 loop with its thread limit.
// The idle-thread limit stays unset (-1): with one set, libfuse 3.14 starts
// a thread for a request when none is idle and ends one after it, about
// 100 µs of thread churn per request (libfuse pull request 652).
static inline int trellis_fuse_loop_mt(struct fuse_session *session, unsigned max_threads) {
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (config == NULL) return -1;
    fuse_loop_cfg_set_max_threads(config, max_threads);
    int result = fuse_session_loop_mt(session, config);
    fuse_loop_cfg_destroy(config);
    return result;
}

// fuse_file_info keeps its flags in bitfields.
static inline void trellis_fuse_set_open_flags(struct fuse_file_info *info, int keep_cache, int direct_io) {
    info->keep_cache = keep_cache ? 1 : 0;
    info->direct_io = direct_io ? 1 : 0;
}

// FUSE_CAP_* and the init-time connection settings.
// The kernel offers the read-ahead its bdi has when the mount starts (the
// mount sets it first); asking for it keeps several reads in flight.
static inline void trellis_fuse_configure(struct fuse_conn_info *connection, unsigned max_bytes, unsigned readahead_bytes, int readdirplus) {
    connection->max_write = max_bytes;
    connection->max_readahead = readahead_bytes;
    if (readdirplus && (connection->capable & FUSE_CAP_READDIRPLUS)) {
        connection->want |= FUSE_CAP_READDIRPLUS;
        connection->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    } else {
        connection->want &= ~FUSE_CAP_READDIRPLUS;
    }
    if (connection->capable & FUSE_CAP_ASYNC_READ) connection->want |= FUSE_CAP_ASYNC_READ;
    if (connection->capable & FUSE_CAP_ATOMIC_O_TRUNC) connection->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    if (connection->capable & FUSE_CAP_EXPORT_SUPPORT) connection->want |= FUSE_CAP_EXPORT_SUPPORT;
    // Writes go to the servers as the program makes them (no writeback cache):
    // other clients see them at once, as with PVFS2.
    connection->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

// The kernel's side of the protocol: the mount watches the INIT exchange
// (KernelInitWatch.swift).
#include <linux/fuse.h>
#include <sys/uio.h>

#endif
