#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>
#include "CSQLiteChanges.h"

/*
 * A log of the rows one connection changes, written from SQLite's
 * pre-update hook in the session extension's changeset format. The session
 * extension itself reads each table's columns and prepares a statement per
 * table every time a changeset is taken, which cost more than the rows
 * themselves; the hook hands over every row's old and new values as they
 * change, so the log only copies them.
 */

#define MOST_TABLES 32

struct table {
    char name[64];
    int columns;
    unsigned char primaryKey[256];
};

struct trellis_log {
    sqlite3 *database;
    struct table tables[MOST_TABLES];
    int tableCount;
    char skipPrefix[64];
    int recording;
    /* The table of the last change written, whose header the next change of it shares. */
    int lastTable;
    int failure;
    unsigned char *bytes;
    size_t size;
    size_t capacity;
};

static int reserve(struct trellis_log *log, size_t more) {
    if (log->failure != SQLITE_OK) return 0;
    if (log->size + more <= log->capacity) return 1;
    size_t capacity = log->capacity == 0 ? 4096 : log->capacity;
    while (capacity < log->size + more) capacity *= 2;
    unsigned char *bytes = sqlite3_realloc64(log->bytes, capacity);
    if (bytes == NULL) {
        log->failure = SQLITE_NOMEM;
        return 0;
    }
    log->bytes = bytes;
    log->capacity = capacity;
    return 1;
}

static void put(struct trellis_log *log, const void *data, size_t count) {
    if (!reserve(log, count)) return;
    memcpy(log->bytes + log->size, data, count);
    log->size += count;
}

static void putByte(struct trellis_log *log, unsigned char byte) { put(log, &byte, 1); }

/* SQLite's varint for lengths: big-endian groups of 7 bits. */
static void putLength(struct trellis_log *log, uint64_t value) {
    unsigned char groups[10];
    int count = 0;
    do {
        groups[count++] = value & 0x7f;
        value >>= 7;
    } while (value != 0 && count < 8);
    for (int index = count - 1; index >= 0; index--) putByte(log, groups[index] | (index > 0 ? 0x80 : 0));
}

static void putBigEndian(struct trellis_log *log, uint64_t value) {
    unsigned char bytes[8];
    for (int index = 7; index >= 0; index--) {
        bytes[index] = value & 0xff;
        value >>= 8;
    }
    put(log, bytes, 8);
}

/* One value as a changeset record holds it: its type, then its bytes. */
static void putValue(struct trellis_log *log, sqlite3_value *value) {
    if (value == NULL) {
        putByte(log, 0);
        return;
    }
    switch (sqlite3_value_type(value)) {
    case SQLITE_INTEGER:
        putByte(log, 1);
        putBigEndian(log, (uint64_t)sqlite3_value_int64(value));
        break;
    case SQLITE_FLOAT: {
        double number = sqlite3_value_double(value);
        uint64_t bits;
        memcpy(&bits, &number, sizeof bits);
        putByte(log, 2);
        putBigEndian(log, bits);
        break;
    }
    case SQLITE_TEXT: {
        const unsigned char *text = sqlite3_value_text(value);
        int count = sqlite3_value_bytes(value);
        putByte(log, 3);
        putLength(log, (uint64_t)count);
        put(log, text, (size_t)count);
        break;
    }
    case SQLITE_BLOB: {
        const void *blob = sqlite3_value_blob(value);
        int count = sqlite3_value_bytes(value);
        putByte(log, 4);
        putLength(log, (uint64_t)count);
        if (count > 0) put(log, blob, (size_t)count);
        break;
    }
    default:
        putByte(log, 5);
    }
}

static int sameValue(sqlite3_value *left, sqlite3_value *right) {
    int type = sqlite3_value_type(left);
    if (type != sqlite3_value_type(right)) return 0;
    switch (type) {
    case SQLITE_INTEGER: return sqlite3_value_int64(left) == sqlite3_value_int64(right);
    case SQLITE_FLOAT: return sqlite3_value_double(left) == sqlite3_value_double(right);
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
        int count = sqlite3_value_bytes(left);
        if (count != sqlite3_value_bytes(right)) return 0;
        const void *a = type == SQLITE_TEXT ? (const void *)sqlite3_value_text(left) : sqlite3_value_blob(left);
        const void *b = type == SQLITE_TEXT ? (const void *)sqlite3_value_text(right) : sqlite3_value_blob(right);
        return count == 0 || memcmp(a, b, (size_t)count) == 0;
    }
    default: return 1;
    }
}

static void putHeader(struct trellis_log *log, int table) {
    if (log->lastTable == table) return;
    const struct table *known = &log->tables[table];
    putByte(log, 0x54);
    putLength(log, (uint64_t)known->columns);
    put(log, known->primaryKey, (size_t)known->columns);
    put(log, known->name, strlen(known->name) + 1);
    log->lastTable = table;
}

/* A whole row, old or new. */
static void putRow(struct trellis_log *log, int columns, int old) {
    for (int column = 0; column < columns; column++) {
        sqlite3_value *value = NULL;
        int code = old ? sqlite3_preupdate_old(log->database, column, &value) : sqlite3_preupdate_new(log->database, column, &value);
        if (code != SQLITE_OK) {
            log->failure = code;
            return;
        }
        putValue(log, value);
    }
}

static void logChange(void *context, sqlite3 *database, int operation, const char *schema, const char *name, sqlite3_int64 oldKey,
                      sqlite3_int64 newKey) {
    struct trellis_log *log = context;
    (void)database;
    if (!log->recording || log->failure != SQLITE_OK || strcmp(schema, "main") != 0) return;
    size_t prefix = strlen(log->skipPrefix);
    if (strncmp(name, "sqlite_", 7) == 0 || (prefix > 0 && strncmp(name, log->skipPrefix, prefix) == 0)) return;
    int table = -1;
    for (int index = 0; index < log->tableCount; index++) {
        if (strcmp(log->tables[index].name, name) == 0) table = index;
    }
    int columns = table < 0 ? 0 : log->tables[table].columns;
    if (table < 0 || sqlite3_preupdate_count(log->database) != columns) {
        /* A table the log was not told of, or whose columns changed: the commit cannot be shipped. */
        log->failure = SQLITE_SCHEMA;
        return;
    }
    const unsigned char *key = log->tables[table].primaryKey;
    if (operation == SQLITE_UPDATE) {
        int keyChanged = oldKey != newKey;
        for (int column = 0; column < columns && !keyChanged; column++) {
            if (!key[column]) continue;
            sqlite3_value *before = NULL, *after = NULL;
            if (sqlite3_preupdate_old(log->database, column, &before) != SQLITE_OK || sqlite3_preupdate_new(log->database, column, &after) != SQLITE_OK) {
                log->failure = SQLITE_ERROR;
                return;
            }
            keyChanged = !sameValue(before, after);
        }
        putHeader(log, table);
        if (keyChanged) {
            /* A row that moves to another key is a delete and an insert, as in the session extension's changesets. */
            putByte(log, SQLITE_DELETE);
            putByte(log, 0);
            putRow(log, columns, 1);
            putByte(log, SQLITE_INSERT);
            putByte(log, 0);
            putRow(log, columns, 0);
            return;
        }
        putByte(log, SQLITE_UPDATE);
        putByte(log, 0);
        /* The old record holds the key; the new one the columns whose values changed. */
        for (int column = 0; column < columns; column++) {
            sqlite3_value *before = NULL;
            if (key[column] && sqlite3_preupdate_old(log->database, column, &before) != SQLITE_OK) log->failure = SQLITE_ERROR;
            putValue(log, key[column] ? before : NULL);
        }
        for (int column = 0; column < columns; column++) {
            sqlite3_value *before = NULL, *after = NULL;
            if (key[column]) {
                putByte(log, 0);
                continue;
            }
            if (sqlite3_preupdate_old(log->database, column, &before) != SQLITE_OK || sqlite3_preupdate_new(log->database, column, &after) != SQLITE_OK) {
                log->failure = SQLITE_ERROR;
                return;
            }
            putValue(log, sameValue(before, after) ? NULL : after);
        }
        return;
    }
    putHeader(log, table);
    putByte(log, (unsigned char)operation);
    putByte(log, 0);
    putRow(log, columns, operation == SQLITE_DELETE);
}

int trellis_log_open(void *database, const char *skipPrefix, void **out) {
    struct trellis_log *log = sqlite3_malloc(sizeof *log);
    if (log == NULL) return SQLITE_NOMEM;
    memset(log, 0, sizeof *log);
    log->database = database;
    log->lastTable = -1;
    if (skipPrefix != NULL) strncpy(log->skipPrefix, skipPrefix, sizeof log->skipPrefix - 1);
    sqlite3_preupdate_hook(database, logChange, log);
    *out = log;
    return SQLITE_OK;
}

int trellis_log_add_table(void *opened, const char *name, int columns, const unsigned char *primaryKey) {
    struct trellis_log *log = opened;
    if (log->tableCount == MOST_TABLES || columns < 1 || columns > 256 || strlen(name) >= sizeof log->tables[0].name) return SQLITE_RANGE;
    struct table *table = &log->tables[log->tableCount++];
    strcpy(table->name, name);
    table->columns = columns;
    memcpy(table->primaryKey, primaryKey, (size_t)columns);
    return SQLITE_OK;
}

void trellis_log_begin(void *opened) {
    struct trellis_log *log = opened;
    log->size = 0;
    log->lastTable = -1;
    log->failure = SQLITE_OK;
    log->recording = 1;
}

size_t trellis_log_mark(void *opened) { return ((struct trellis_log *)opened)->size; }

void trellis_log_truncate(void *opened, size_t mark) {
    struct trellis_log *log = opened;
    if (mark < log->size) {
        log->size = mark;
        /* The header before the mark may belong to another table than the last change written. */
        log->lastTable = -1;
    }
}

int trellis_log_take(void *opened, size_t *size, const void **bytes) {
    struct trellis_log *log = opened;
    log->recording = 0;
    *size = log->size;
    *bytes = log->bytes;
    return log->failure;
}

void trellis_log_close(void *opened) {
    struct trellis_log *log = opened;
    sqlite3_preupdate_hook(log->database, NULL, NULL);
    sqlite3_free(log->bytes);
    sqlite3_free(log);
}
