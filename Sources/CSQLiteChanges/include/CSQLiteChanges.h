#ifndef C_SQLITE_CHANGES_H
#define C_SQLITE_CHANGES_H

/*
 * The SQLite session extension (changesets), which Debian's libsqlite3 is
 * built with but whose declarations sqlite3.h shows only when
 * SQLITE_ENABLE_SESSION is defined. Declared here over opaque pointers so
 * that Swift can use it beside GRDB's own import of sqlite3.h.
 */

/* Starts recording every change to the tables of `database`'s main schema
 * whose names do not begin with `skipPrefix`. Returns an SQLite result code. */
int trellis_changes_begin(void *database, const char *skipPrefix, void **recording);

/* The net changes recorded so far, as a changeset of `*size` bytes, which the
 * caller frees with trellis_changes_free (NULL and 0 when nothing changed). */
int trellis_changes_take(void *recording, int *size, void **changeset);

/* Stops recording. */
void trellis_changes_end(void *recording);

void trellis_changes_free(void *changeset);

#endif
