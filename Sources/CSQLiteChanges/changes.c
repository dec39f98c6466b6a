#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>
#include <string.h>
#include "CSQLiteChanges.h"

struct recording {
    sqlite3_session *session;
    char prefix[64];
};

static int keepTable(void *context, const char *table) {
    const struct recording *recording = context;
    size_t length = strlen(recording->prefix);
    return length == 0 || strncmp(table, recording->prefix, length) != 0;
}

int trellis_changes_begin(void *database, const char *skipPrefix, void **out) {
    struct recording *recording = sqlite3_malloc(sizeof *recording);
    if (recording == NULL) return SQLITE_NOMEM;
    memset(recording, 0, sizeof *recording);
    if (skipPrefix != NULL) strncpy(recording->prefix, skipPrefix, sizeof recording->prefix - 1);
    int code = sqlite3session_create(database, "main", &recording->session);
    if (code == SQLITE_OK) {
        sqlite3session_table_filter(recording->session, keepTable, recording);
        code = sqlite3session_attach(recording->session, NULL);
    }
    if (code != SQLITE_OK) {
        if (recording->session != NULL) sqlite3session_delete(recording->session);
        sqlite3_free(recording);
        return code;
    }
    *out = recording;
    return SQLITE_OK;
}

int trellis_changes_take(void *recording, int *size, void **changeset) {
    *size = 0;
    *changeset = NULL;
    return sqlite3session_changeset(((struct recording *)recording)->session, size, changeset);
}

void trellis_changes_end(void *recording) {
    sqlite3session_delete(((struct recording *)recording)->session);
    sqlite3_free(recording);
}

void trellis_changes_free(void *changeset) { sqlite3_free(changeset); }
