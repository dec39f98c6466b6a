/*
 * A VFS over the default one that gathers the writes of one WAL commit into
 * a few large writes.
 *
 * SQLite writes each WAL frame as two writes (its 24-byte header, then the
 * page), so a commit that changes eleven pages costs twenty-two system calls
 * through the file system's whole write path; a replicated create commits on
 * its primary and on its copy, and perf counted 45 pwrites per create, a
 * fifth of the servers' CPU. Here writes that extend a WAL file are kept in
 * memory and written together once the commit frame is complete (a frame
 * header whose commit field is not zero, then its page), so a commit is in
 * the page cache, or has failed, before SQLite's commit returns, as without
 * this VFS. A write below the end already reached (a frame overwritten in
 * place, the checksums SQLite rewrites after a large transaction, the
 * log's header when it starts again) goes straight down, after what is
 * kept. Anything else that touches the file (a read, a sync, a size, a
 * truncate, a lock, a close) writes what is kept first. Other files pass
 * straight through.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "CSQLiteChanges.h"

#define WAL_FRAME_HEADER 24
#define MOST_KEPT (4 << 20)

typedef struct GatheredFile {
    sqlite3_file base;
    sqlite3_file *real;
    int isWal;
    unsigned char *kept;
    size_t keptBytes, capacity;
    sqlite3_int64 keptOffset;
    /* The end of what has been written or kept: a write that starts below it rewrites. */
    sqlite3_int64 reachedEnd;
    /* The last write was the header of a commit frame: its page ends the commit. */
    int commitFrameStarted;
} GatheredFile;

static sqlite3_vfs *underlying;
static sqlite3_vfs gatheringVFS;
static sqlite3_io_methods gatheringMethods;

/* The most one write passes down: the unix VFS keeps only the low 17 bits of
 * a write's length (no page is larger than 64 KiB), so a longer one would be
 * cut, and one of 128 KiB would write nothing and be taken for a full disk. */
#define MOST_PER_WRITE (64 * 1024)

/* Writes what is kept; SQLite's own codes for a short write or a full disk.
 * What a failed write did not take stays kept, in order, for the next try. */
static int writeKept(GatheredFile *file) {
    size_t done = 0;
    int rc = SQLITE_OK;
    while (done < file->keptBytes) {
        size_t piece = file->keptBytes - done < MOST_PER_WRITE ? file->keptBytes - done : MOST_PER_WRITE;
        rc = file->real->pMethods->xWrite(file->real, file->kept + done, (int)piece, file->keptOffset + (sqlite3_int64)done);
        if (rc != SQLITE_OK) break;
        done += piece;
    }
    if (done > 0 && done < file->keptBytes) memmove(file->kept, file->kept + done, file->keptBytes - done);
    file->keptOffset += (sqlite3_int64)done;
    file->keptBytes -= done;
    return rc;
}

/* Keeps `amount` bytes at `offset`, right after what is kept; false when no memory is left for them. */
static int keep(GatheredFile *file, const void *data, int amount, sqlite3_int64 offset) {
    size_t needed = file->keptBytes + (size_t)amount;
    if (needed > file->capacity) {
        size_t capacity = file->capacity ? file->capacity : 64 * 1024;
        while (capacity < needed) capacity *= 2;
        unsigned char *grown = realloc(file->kept, capacity);
        if (!grown) return 0;
        file->kept = grown;
        file->capacity = capacity;
    }
    if (file->keptBytes == 0) file->keptOffset = offset;
    memcpy(file->kept + file->keptBytes, data, (size_t)amount);
    file->keptBytes += (size_t)amount;
    return 1;
}

static int gatheredWrite(sqlite3_file *handle, const void *data, int amount, sqlite3_int64 offset) {
    GatheredFile *file = (GatheredFile *)handle;
    if (!file->isWal) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    int rc = SQLITE_OK;
    int extends = offset >= file->reachedEnd && offset > 0;
    int continues = file->keptBytes > 0 && file->keptOffset + (sqlite3_int64)file->keptBytes == offset;
    if (file->keptBytes > 0 && !(extends && continues)) rc = writeKept(file);
    if (rc != SQLITE_OK) return rc;
    int endsCommit = extends && file->commitFrameStarted;
    file->commitFrameStarted = 0;
    if (extends && file->keptBytes + (size_t)amount <= MOST_KEPT && keep(file, data, amount, offset)) {
        file->reachedEnd = offset + amount;
        if (endsCommit) rc = writeKept(file);
    } else {
        /* Too much to keep, or no memory: what is kept goes first, then this write. */
        rc = writeKept(file);
        if (rc == SQLITE_OK) rc = file->real->pMethods->xWrite(file->real, data, amount, offset);
        if (rc == SQLITE_OK && (offset + amount > file->reachedEnd || offset == 0)) file->reachedEnd = offset + amount;
    }
    if (rc != SQLITE_OK) return rc;
    if (extends && amount == WAL_FRAME_HEADER) {
        /* Bytes 4-7 of a frame header: the database's size in pages after a commit, 0 otherwise. */
        const unsigned char *header = data;
        file->commitFrameStarted = (header[4] | header[5] | header[6] | header[7]) != 0;
    }
    return SQLITE_OK;
}

static int gatheredClose(sqlite3_file *handle) {
    GatheredFile *file = (GatheredFile *)handle;
    int rc = writeKept(file);
    int closed = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
    free(file->kept);
    file->kept = NULL;
    file->capacity = 0;
    return rc != SQLITE_OK ? rc : closed;
}

/* Each method that is not a write first writes what is kept, then passes on. */
#define FLUSHED(call)                                   \
    GatheredFile *file = (GatheredFile *)handle;        \
    int rc = writeKept(file);                           \
    if (rc != SQLITE_OK) return rc;                     \
    return file->real->pMethods->call;

static int gatheredRead(sqlite3_file *handle, void *data, int amount, sqlite3_int64 offset) { FLUSHED(xRead(file->real, data, amount, offset)) }
static int gatheredTruncate(sqlite3_file *handle, sqlite3_int64 size) {
    GatheredFile *file = (GatheredFile *)handle;
    int rc = writeKept(file);
    if (rc != SQLITE_OK) return rc;
    if (size < file->reachedEnd) file->reachedEnd = size;
    return file->real->pMethods->xTruncate(file->real, size);
}
static int gatheredSync(sqlite3_file *handle, int flags) { FLUSHED(xSync(file->real, flags)) }
static int gatheredFileSize(sqlite3_file *handle, sqlite3_int64 *size) { FLUSHED(xFileSize(file->real, size)) }
static int gatheredLock(sqlite3_file *handle, int level) { FLUSHED(xLock(file->real, level)) }
static int gatheredUnlock(sqlite3_file *handle, int level) { FLUSHED(xUnlock(file->real, level)) }
static int gatheredCheckReservedLock(sqlite3_file *handle, int *out) { FLUSHED(xCheckReservedLock(file->real, out)) }
static int gatheredFileControl(sqlite3_file *handle, int op, void *argument) { FLUSHED(xFileControl(file->real, op, argument)) }
/* Methods of later versions that the file below may not have (the unix VFS's files without locks have no shared memory). */
#define HAS(method, version) (file->real->pMethods->iVersion >= (version) && file->real->pMethods->method)

static int gatheredShmMap(sqlite3_file *handle, int region, int size, int extend, void volatile **mapped) {
    GatheredFile *file = (GatheredFile *)handle;
    if (!HAS(xShmMap, 2)) return SQLITE_IOERR_SHMMAP;
    return file->real->pMethods->xShmMap(file->real, region, size, extend, mapped);
}
static int gatheredShmLock(sqlite3_file *handle, int offset, int count, int flags) {
    GatheredFile *file = (GatheredFile *)handle;
    if (!HAS(xShmLock, 2)) return SQLITE_IOERR_SHMLOCK;
    return file->real->pMethods->xShmLock(file->real, offset, count, flags);
}
static int gatheredShmUnmap(sqlite3_file *handle, int deleting) {
    GatheredFile *file = (GatheredFile *)handle;
    if (!HAS(xShmUnmap, 2)) return SQLITE_OK;
    return file->real->pMethods->xShmUnmap(file->real, deleting);
}
static int gatheredFetch(sqlite3_file *handle, sqlite3_int64 offset, int amount, void **pointer) {
    GatheredFile *file = (GatheredFile *)handle;
    *pointer = NULL;
    if (!HAS(xFetch, 3)) return SQLITE_OK;
    int rc = writeKept(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFetch(file->real, offset, amount, pointer);
}
static int gatheredUnfetch(sqlite3_file *handle, sqlite3_int64 offset, void *pointer) {
    GatheredFile *file = (GatheredFile *)handle;
    if (!HAS(xUnfetch, 3)) return SQLITE_OK;
    return file->real->pMethods->xUnfetch(file->real, offset, pointer);
}

static int gatheredSectorSize(sqlite3_file *handle) {
    GatheredFile *file = (GatheredFile *)handle;
    return file->real->pMethods->xSectorSize(file->real);
}

static int gatheredDeviceCharacteristics(sqlite3_file *handle) {
    GatheredFile *file = (GatheredFile *)handle;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}

static void gatheredShmBarrier(sqlite3_file *handle) {
    GatheredFile *file = (GatheredFile *)handle;
    if (HAS(xShmBarrier, 2)) file->real->pMethods->xShmBarrier(file->real);
}

static int gatheredOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *handle, int flags, int *outFlags) {
    (void)vfs;
    GatheredFile *file = (GatheredFile *)handle;
    memset(file, 0, sizeof(*file));
    file->real = (sqlite3_file *)(file + 1);
    int rc = underlying->xOpen(underlying, name, file->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        /* xClose is still called on a file whose open failed, when it has methods. */
        file->base.pMethods = file->real->pMethods ? &gatheringMethods : NULL;
        return rc;
    }
    file->isWal = (flags & SQLITE_OPEN_WAL) != 0;
    file->base.pMethods = &gatheringMethods;
    return SQLITE_OK;
}

/* The rest of the VFS is the underlying one's. */
static int passDelete(sqlite3_vfs *v, const char *n, int s) { (void)v; return underlying->xDelete(underlying, n, s); }
static int passAccess(sqlite3_vfs *v, const char *n, int f, int *o) { (void)v; return underlying->xAccess(underlying, n, f, o); }
static int passFullPathname(sqlite3_vfs *v, const char *n, int c, char *o) { (void)v; return underlying->xFullPathname(underlying, n, c, o); }
static void *passDlOpen(sqlite3_vfs *v, const char *n) { (void)v; return underlying->xDlOpen(underlying, n); }
static void passDlError(sqlite3_vfs *v, int c, char *o) { (void)v; underlying->xDlError(underlying, c, o); }
static void (*passDlSym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return underlying->xDlSym(underlying, h, s); }
static void passDlClose(sqlite3_vfs *v, void *h) { (void)v; underlying->xDlClose(underlying, h); }
static int passRandomness(sqlite3_vfs *v, int c, char *o) { (void)v; return underlying->xRandomness(underlying, c, o); }
static int passSleep(sqlite3_vfs *v, int m) { (void)v; return underlying->xSleep(underlying, m); }
static int passCurrentTime(sqlite3_vfs *v, double *o) { (void)v; return underlying->xCurrentTime(underlying, o); }
static int passGetLastError(sqlite3_vfs *v, int c, char *o) { (void)v; return underlying->xGetLastError(underlying, c, o); }
static int passCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *o) { (void)v; return underlying->xCurrentTimeInt64(underlying, o); }

static int registered = SQLITE_ERROR;

static void registerOnce(void) {
    underlying = sqlite3_vfs_find(NULL);
    if (!underlying || underlying->iVersion < 2) return;
    gatheringMethods = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = gatheredClose,
        .xRead = gatheredRead,
        .xWrite = gatheredWrite,
        .xTruncate = gatheredTruncate,
        .xSync = gatheredSync,
        .xFileSize = gatheredFileSize,
        .xLock = gatheredLock,
        .xUnlock = gatheredUnlock,
        .xCheckReservedLock = gatheredCheckReservedLock,
        .xFileControl = gatheredFileControl,
        .xSectorSize = gatheredSectorSize,
        .xDeviceCharacteristics = gatheredDeviceCharacteristics,
        .xShmMap = gatheredShmMap,
        .xShmLock = gatheredShmLock,
        .xShmBarrier = gatheredShmBarrier,
        .xShmUnmap = gatheredShmUnmap,
        .xFetch = gatheredFetch,
        .xUnfetch = gatheredUnfetch,
    };
    gatheringVFS = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(GatheredFile) + underlying->szOsFile,
        .mxPathname = underlying->mxPathname,
        .zName = "trellis-gathered-wal",
        .xOpen = gatheredOpen,
        .xDelete = passDelete,
        .xAccess = passAccess,
        .xFullPathname = passFullPathname,
        .xDlOpen = passDlOpen,
        .xDlError = passDlError,
        .xDlSym = passDlSym,
        .xDlClose = passDlClose,
        .xRandomness = passRandomness,
        .xSleep = passSleep,
        .xCurrentTime = passCurrentTime,
        .xGetLastError = passGetLastError,
        .xCurrentTimeInt64 = passCurrentTimeInt64,
    };
    registered = sqlite3_vfs_register(&gatheringVFS, 1);
}

int trellis_gather_wal_writes(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, registerOnce);
    return registered;
}
