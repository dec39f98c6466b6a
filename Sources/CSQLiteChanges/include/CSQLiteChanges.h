#ifndef C_SQLITE_CHANGES_H
#define C_SQLITE_CHANGES_H

#include <stddef.h>

/*
 * A log of the rows a connection changes, in the SQLite session extension's
 * changeset format, written from SQLite's pre-update hook (which Debian's
 * libsqlite3 is built with, but whose declarations sqlite3.h shows only when
 * SQLITE_ENABLE_PREUPDATE_HOOK is defined). Declared over opaque pointers so
 * that Swift can use it beside GRDB's own import of sqlite3.h.
 */

/* Installs the log on `database` (the connection's one pre-update hook); it
 * records nothing until trellis_log_begin. Changes to tables whose names
 * begin with `skipPrefix` or "sqlite_" are never recorded. */
int trellis_log_open(void *database, const char *skipPrefix, void **log);

/* Tells the log of a table it records: its column count and each column's
 * place in the primary key (from 1; 0 when not in it). A change to a table it
 * was not told of fails the recording (trellis_log_take says so). */
int trellis_log_add_table(void *log, const char *name, int columns, const unsigned char *primaryKey);

/* Empties the log and records every change from now on. */
void trellis_log_begin(void *log);

/* The log's length, to truncate back to when a savepoint rolls back. */
size_t trellis_log_mark(void *log);
void trellis_log_truncate(void *log, size_t mark);

/* Stops recording; `*bytes` (owned by the log, valid until the next begin)
 * holds the `*size` bytes recorded. Returns SQLITE_OK, or the error that
 * made the recording incomplete. */
int trellis_log_take(void *log, size_t *size, const void **bytes);

/* Removes the hook and frees the log. */
void trellis_log_close(void *log);

/* Makes the default VFS one that writes each WAL commit's frames together
 * (in writes of up to 64 KiB) instead of two writes per frame (wal_writes.c), for every
 * database opened from then on. Once per process; SQLITE_OK when in place. */
int trellis_gather_wal_writes(void);

#endif
