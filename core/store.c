/*
 * store.c - the store's connection: opening and configuring the SQLite
 * file, transactions, the statement cache and the helpers every store
 * file binds and reads with, the meta table, the key check, re-sealing
 * everything under a new key (herald rekey), and closing.
 *
 * herald_store_open() runs the steps in an order that matters: create the
 * file private, open it, read its schema version (migrations.c refuses a
 * newer or foreign file before anything is written), switch to WAL and
 * set the pragmas, migrate, and finally prove the key against the sealed
 * check value in meta. The daemon calls it at startup; accounts.c,
 * authorizations.c and events.c reach the connection through
 * store_private.h.
 *
 * Statements are prepared on first use and kept until close. Failures
 * are logged, except while st->quiet is set: during opening and the
 * writability check, which report through the caller's err instead.
 *
 * Invariant: transactions nest (the outermost is BEGIN IMMEDIATE, inner
 * ones are savepoints) and st->depth counts exactly what is open; every
 * store function that begins one ends it before returning, so a caller's
 * own transaction is left as it was.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "clock.h"
#include "store_private.h"

#define KEY_CHECK_NAME "key_check"
#define KEY_CHECK_AD   "herald:key-check"
#define KEY_CHECK_TEXT "herald store key check"

static const struct {
    const char *name;
    const char *pragma;
} sync_modes[] = {
    {"full", "PRAGMA synchronous = FULL"},
    {"normal", "PRAGMA synchronous = NORMAL"},
    {"extra", "PRAGMA synchronous = EXTRA"},
};

int64_t
store_now_ms(void)
{
    return herald_clock_now_ms();
}

void
store_free_str(const char *p)
{
    free((void *)(uintptr_t)p);
}

void
store_wipe_str(const char *p)
{
    if (!p)
        return;
    sodium_memzero((void *)(uintptr_t)p, strlen(p));
    store_free_str(p);
}

/* Maps an (extended) SQLite result code to a negative errno value. */
static int
errno_of(int code)
{
    switch (code) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return -ENOENT;
    }
    switch (code & 0xff) {
    case SQLITE_OK:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return -EINVAL;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    default:
        return -EIO;
    }
}

/*
 * Records SQLite's message for a failed call and logs it, unless the
 * caller reports through its own err. Returns the errno value.
 */
static int
fail(struct herald_store *st, int code, const char *what)
{
    int level = (code & 0xff) == SQLITE_CONSTRAINT ? LOG_DEBUG : LOG_ERR;

    snprintf(st->last_error, sizeof(st->last_error), "%s",
             sqlite3_errmsg(st->db));
    if (!st->quiet)
        HLOG(level, STORE_SUBSYSTEM, "cannot %s in store '%s': %s", what,
             st->path, st->last_error);
    return errno_of(code);
}

const char *
store_reason(const struct herald_store *st, int rc)
{
    return st->last_error[0] ? st->last_error : strerror(-rc);
}

int
store_exec(struct herald_store *st, const char *sql, const char *what)
{
    int code = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

    return code == SQLITE_OK ? 0 : fail(st, code, what);
}

int
store_query_int(struct herald_store *st, const char *sql, int64_t *v)
{
    sqlite3_stmt *s = NULL;
    int code;
    int rc = 0;

    *v = 0;
    code = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    if (code == SQLITE_ROW)
        *v = sqlite3_column_int64(s, 0);
    else if (code != SQLITE_DONE)
        rc = fail(st, code, "read the database");
    sqlite3_finalize(s);
    return rc;
}

/* The statement cache and the bind and column helpers */

int
store_stmt(struct herald_store *st, enum store_stmt id, const char *sql,
           sqlite3_stmt **out)
{
    int code;

    *out = NULL;
    if (!st->stmts[id]) {
        code = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                  &st->stmts[id], NULL);
        if (code != SQLITE_OK)
            return fail(st, code, "prepare a statement");
    }
    /* One id, one text: two files sharing an id would run each other's. */
    assert(strcmp(sqlite3_sql(st->stmts[id]), sql) == 0);
    *out = st->stmts[id];
    return 0;
}

void
store_stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

void
store_bind_text(sqlite3_stmt *s, int i, const char *v, int *code)
{
    if (*code != SQLITE_OK)
        return;
    *code = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
              : sqlite3_bind_null(s, i);
}

void
store_bind_int(sqlite3_stmt *s, int i, int64_t v, int *code)
{
    if (*code == SQLITE_OK)
        *code = sqlite3_bind_int64(s, i, v);
}

void
store_bind_opt(sqlite3_stmt *s, int i, int64_t v, int *code)
{
    if (*code != SQLITE_OK)
        return;
    *code = v ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

void
store_bind_sealed(sqlite3_stmt *s, int i, const struct sealed *v, int *code)
{
    if (*code != SQLITE_OK)
        return;
    *code = v->p ? sqlite3_bind_blob64(s, i, v->p, v->n, SQLITE_STATIC)
                 : sqlite3_bind_null(s, i);
}

int
store_run(struct herald_store *st, sqlite3_stmt *s, int code, const char *what)
{
    int rc = 0;

    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    if (code != SQLITE_DONE)
        rc = fail(st, code, what);
    store_stmt_done(s);
    return rc;
}

int
store_row(struct herald_store *st, sqlite3_stmt *s, int code, const char *what)
{
    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    if (code == SQLITE_ROW)
        return 1;
    if (code == SQLITE_DONE)
        return 0;
    return fail(st, code, what);
}

void
store_col_text(sqlite3_stmt *s, int i, const char **out, int *rc)
{
    const unsigned char *text;

    *out = NULL;
    if (*rc < 0 || sqlite3_column_type(s, i) == SQLITE_NULL)
        return;
    text = sqlite3_column_text(s, i);
    *out = text ? strdup((const char *)text) : NULL;
    if (!*out)
        *rc = -ENOMEM;
}

void
store_col_json(sqlite3_stmt *s, int i, json_t **out, int *rc)
{
    const unsigned char *text;

    *out = NULL;
    if (*rc < 0 || sqlite3_column_type(s, i) == SQLITE_NULL)
        return;
    text = sqlite3_column_text(s, i);
    *out = text ? json_loads((const char *)text, 0, NULL) : NULL;
    if (!*out)
        *rc = -EIO;
}

int
store_col_sealed(struct herald_store *st, sqlite3_stmt *s, int col,
                 const char *ad, char **out)
{
    const unsigned char *sealed;
    unsigned char *plain = NULL;
    size_t len;
    int rc;

    *out = NULL;
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return 0;
    sealed = sqlite3_column_blob(s, col);
    len = (size_t)sqlite3_column_bytes(s, col);
    rc = herald_crypto_open(&st->key, ad, sealed, len, &plain, &len);
    *out = (char *)plain;
    return rc;
}

int
store_dump_json(const json_t *j, char **out)
{
    *out = NULL;
    if (!j)
        return 0;
    *out = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    return *out ? 0 : -ENOMEM;
}

/* Transactions */

int
herald_store_begin(struct herald_store *st)
{
    const char *sql = st->depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT nest";
    int rc = store_exec(st, sql, "begin a transaction");

    if (rc == 0)
        st->depth++;
    return rc;
}

void
herald_store_rollback(struct herald_store *st)
{
    const char *sql =
        st->depth > 1 ? "ROLLBACK TO nest; RELEASE nest" : "ROLLBACK";

    if (st->depth == 0)
        return;
    /* Fails harmlessly when SQLite already rolled back after an error. */
    sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (--st->depth == 0)
        st->batch = 0;
}

int
herald_store_commit(struct herald_store *st)
{
    const char *sql = st->depth > 1 ? "RELEASE nest" : "COMMIT";
    int rc;

    if (st->depth == 0)
        return -EINVAL;
    rc = store_exec(st, sql, "commit a transaction");
    if (rc < 0) {
        herald_store_rollback(st);
        return rc;
    }
    if (--st->depth == 0)
        st->batch = 0;
    return 0;
}

int
herald_store_batch(struct herald_store *st)
{
    int rc;

    if (st->depth > 0)
        return 0;
    rc = herald_store_begin(st);
    if (rc == 0)
        st->batch = 1;
    return rc;
}

int
herald_store_flush(struct herald_store *st)
{
    int rc;

    if (!st->batch)
        return 0;
    if (st->depth != 1)
        return -EBUSY; /* a transaction inside the batch is still open */
    st->batch = 0;
    if (sqlite3_get_autocommit(st->db)) {
        /* SQLite rolled the batch back after an error. */
        st->depth = 0;
        return -EIO;
    }
    rc = herald_store_commit(st);
    if (rc < 0)
        st->depth = 0;
    return rc;
}

int
store_tx_finish(struct herald_store *st, int rc)
{
    if (rc < 0) {
        herald_store_rollback(st);
        return rc;
    }
    return herald_store_commit(st);
}

/* Meta */

/* Reads meta value key as bytes into *value (malloc()ed). -ENOENT. */
static int
meta_get(struct herald_store *st, const char *key, unsigned char **value,
         size_t *len)
{
    static const char sql[] = "SELECT value FROM meta WHERE key = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    *value = NULL;
    *len = 0;
    rc = store_stmt(st, STMT_META_GET, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, key, &code);
    rc = store_row(st, s, code, "read meta");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1) {
        *len = (size_t)sqlite3_column_bytes(s, 0);
        *value = malloc(*len + 1);
        rc = *value ? 0 : -ENOMEM;
    }
    if (rc == 0)
        memcpy(*value, sqlite3_column_blob(s, 0), *len);
    store_stmt_done(s);
    return rc;
}

/* Inserts meta value key unless it exists. */
static int
meta_add(struct herald_store *st, const char *key, const struct sealed *v)
{
    static const char sql[] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                              " ON CONFLICT (key) DO NOTHING";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_META_ADD, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, key, &code);
    store_bind_sealed(s, 2, v, &code);
    return store_run(st, s, code, "write meta");
}

/* Sets meta value key to the integer v. */
static int
meta_put_int(struct herald_store *st, const char *key, int64_t v)
{
    static const char sql[] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                              " ON CONFLICT (key) DO UPDATE SET value = ?2";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_META_PUT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, key, &code);
    store_bind_int(s, 2, v, &code);
    return store_run(st, s, code, "write meta");
}

/* Opening: file, connection, pragmas, then migrations and key check */

static const char *
sync_pragma(const char *name)
{
    if (!name)
        name = "full";
    for (size_t i = 0; i < sizeof(sync_modes) / sizeof(sync_modes[0]); i++) {
        if (strcmp(name, sync_modes[i].name) == 0)
            return sync_modes[i].pragma;
    }
    return NULL;
}

static int
store_new(const char *path, const struct herald_key *key,
          struct herald_store **out)
{
    struct herald_store *st = calloc(1, sizeof(*st));

    *out = NULL;
    if (!st)
        return -ENOMEM;
    st->path = strdup(path);
    if (!st->path) {
        free(st);
        return -ENOMEM;
    }
    memcpy(&st->key, key, sizeof(st->key));
    st->quiet = 1;
    *out = st;
    return 0;
}

/*
 * Creates path with mode 0600 unless it exists. SQLite gives its WAL and
 * shared-memory files the mode of the database, so they stay private too.
 */
static int
create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno == EEXIST ? 0 : -errno;
}

static int
open_db(struct herald_store *st, int busy_timeout_ms)
{
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = create_private(st->path);
    int code;

    if (rc < 0)
        return rc;
    code = sqlite3_open_v2(st->path, &st->db, flags, NULL);
    if (code != SQLITE_OK) {
        snprintf(st->last_error, sizeof(st->last_error), "%s",
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(code));
        return errno_of(code);
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, busy_timeout_ms);
    return 0;
}

/* Switches to WAL; fails when the file system cannot have it. */
static int
journal_wal(struct herald_store *st)
{
    sqlite3_stmt *s = NULL;
    const unsigned char *mode = NULL;
    int code;
    int rc = 0;

    code =
        sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    if (code == SQLITE_ROW)
        mode = sqlite3_column_text(s, 0);
    else
        rc = fail(st, code, "set WAL mode");

    if (rc == 0 && (!mode || strcmp((const char *)mode, "wal") != 0)) {
        snprintf(st->last_error, sizeof(st->last_error),
                 "cannot use WAL mode (journal mode '%s')",
                 mode ? (const char *)mode : "?");
        rc = -EIO;
    }
    sqlite3_finalize(s);
    return rc;
}

static int
configure(struct herald_store *st, const char *sync)
{
    int rc = journal_wal(st);

    if (rc == 0)
        rc = store_exec(st, sync, "set synchronous");
    if (rc == 0)
        rc = store_exec(st, "PRAGMA foreign_keys = ON", "enable foreign keys");
    return rc;
}

/*
 * Opens the connection, reads the schema version and only then sets the
 * journal mode, so that a refused file is left exactly as it was.
 */
static int
connect_db(struct herald_store *st, const char *sync, int busy_timeout_ms,
           int64_t *version, struct herald_error *err)
{
    int rc = open_db(st, busy_timeout_ms);

    if (rc < 0) {
        herald_error_set(err, "cannot open store '%s': %s", st->path,
                         store_reason(st, rc));
        return rc;
    }
    rc = store_schema_check(st, version, err);
    if (rc < 0)
        return rc;
    rc = configure(st, sync);
    if (rc < 0)
        herald_error_set(err, "cannot open store '%s': %s", st->path,
                         store_reason(st, rc));
    return rc;
}

/* The key check */

/* Seals the known text and stores it, unless a check is already there. */
static int
write_key_check(struct herald_store *st)
{
    struct sealed v = {NULL, 0};
    int rc;

    rc = herald_crypto_seal(&st->key, KEY_CHECK_AD, KEY_CHECK_TEXT,
                            strlen(KEY_CHECK_TEXT), &v.p, &v.n);
    if (rc == 0)
        rc = meta_add(st, KEY_CHECK_NAME, &v);
    free(v.p);
    return rc;
}

/* Returns 0 when the sealed check opens to the known text, else -EACCES. */
static int
verify_key_check(struct herald_store *st, const unsigned char *sealed,
                 size_t len)
{
    unsigned char *plain = NULL;
    size_t n = 0;
    int rc;

    rc = herald_crypto_open(&st->key, KEY_CHECK_AD, sealed, len, &plain, &n);
    if (rc == -EBADMSG)
        return -EACCES;
    if (rc < 0)
        return rc;
    if (n != strlen(KEY_CHECK_TEXT) || memcmp(plain, KEY_CHECK_TEXT, n) != 0)
        rc = -EACCES;
    free(plain);
    return rc;
}

static int
check_key(struct herald_store *st, struct herald_error *err)
{
    unsigned char *sealed = NULL;
    size_t len = 0;
    int rc = meta_get(st, KEY_CHECK_NAME, &sealed, &len);

    /* Written then read back, so a concurrent first open cannot win with
     * another key unnoticed. */
    if (rc == -ENOENT) {
        rc = write_key_check(st);
        if (rc == 0)
            rc = meta_get(st, KEY_CHECK_NAME, &sealed, &len);
    }
    if (rc < 0) {
        herald_error_set(err, "cannot open store '%s': %s", st->path,
                         store_reason(st, rc));
        return rc;
    }

    rc = verify_key_check(st, sealed, len);
    free(sealed);
    if (rc == -EACCES)
        herald_error_set(err, "key file does not match store '%s'", st->path);
    else if (rc < 0)
        herald_error_set(err, "cannot open store '%s': %s", st->path,
                         strerror(-rc));
    return rc;
}

/* Opening and closing */

int
herald_store_open(const char *path, const char *synchronous,
                  int busy_timeout_ms, const struct herald_key *key,
                  struct herald_store **out, struct herald_error *err)
{
    const char *sync = sync_pragma(synchronous);
    struct herald_store *st;
    int64_t version = 0;
    int rc;

    *out = NULL;
    if (!sync) {
        herald_error_set(err,
                         "unknown synchronous mode '%s' for store '%s' "
                         "(expected full, normal or extra)",
                         synchronous, path);
        return -EINVAL;
    }
    rc = store_new(path, key, &st);
    if (rc < 0) {
        herald_error_set(err, "cannot open store '%s': %s", path,
                         strerror(-rc));
        return rc;
    }

    rc = connect_db(st, sync, busy_timeout_ms, &version, err);
    if (rc == 0)
        rc = store_schema_migrate(st, version, err);
    if (rc == 0)
        rc = check_key(st, err);
    if (rc < 0) {
        herald_store_close(st);
        return rc;
    }

    st->ready = 1;
    st->quiet = 0;
    *out = st;
    return 0;
}

/* Closes the connection; waits for statements other modules still hold. */
static void
close_db(struct herald_store *st)
{
    /* SQLite advises this at close: it refreshes the planner's statistics
     * where they are stale. Only on a store herald accepted. */
    if (st->ready)
        sqlite3_exec(st->db, "PRAGMA optimize", NULL, NULL, NULL);
    if (sqlite3_close(st->db) == SQLITE_BUSY) {
        HLOG(LOG_ERR, STORE_SUBSYSTEM,
             "store '%s' closed with statements still prepared; it closes "
             "when they are finalized",
             st->path);
        sqlite3_close_v2(st->db);
    }
}

void
herald_store_close(struct herald_store *st)
{
    if (!st)
        return;
    if (st->db) {
        herald_store_flush(st);
        while (st->depth > 0)
            herald_store_rollback(st);
        for (int i = 0; i < STMT_COUNT; i++)
            sqlite3_finalize(st->stmts[i]);
        close_db(st);
    }
    sodium_memzero(&st->key, sizeof(st->key));
    free(st->path);
    free(st);
}

sqlite3 *
herald_store_db(struct herald_store *st)
{
    return st->db;
}

int
herald_store_check_writable(struct herald_store *st, struct herald_error *err)
{
    int rc;

    st->quiet = 1;
    st->last_error[0] = '\0';
    rc = herald_store_begin(st);
    if (rc == 0)
        rc =
            store_tx_finish(st, meta_put_int(st, "heartbeat", store_now_ms()));
    st->quiet = 0;

    if (rc < 0)
        herald_error_set(err, "cannot write store '%s': %s", st->path,
                         store_reason(st, rc));
    return rc;
}

int
herald_store_file_version(const char *path, int64_t *version,
                          struct herald_error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int code;

    *version = 0;
    if (access(path, F_OK) < 0) {
        int rc = -errno;

        herald_error_set(err, "cannot read store '%s': %s", path,
                         strerror(errno));
        return rc;
    }
    code = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    if (code == SQLITE_ROW)
        *version = sqlite3_column_int64(s, 0);
    else
        herald_error_set(err, "cannot read store '%s': %s", path,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return code == SQLITE_ROW ? 0 : errno_of(code);
}

/* Re-keying */

/* Binds the key a re-seal pass starts after: before every real key. */
static int
bind_first_key(sqlite3_stmt *s, const struct store_reseal *r)
{
    return r->text_key ? sqlite3_bind_text(s, 1, "", 0, SQLITE_STATIC)
                       : sqlite3_bind_int64(s, 1, -1);
}

/*
 * Opens the sealed value in row with the store's key and seals it again
 * with to into *out, under the same associated data.
 */
static int
reseal_value(struct herald_store *st, const struct herald_key *to,
             const struct store_reseal *r, sqlite3_stmt *row,
             struct sealed *out)
{
    const unsigned char *sealed = sqlite3_column_blob(row, 1);
    size_t len = (size_t)sqlite3_column_bytes(row, 1);
    unsigned char *plain = NULL;
    char ad[STORE_AD_MAX];
    size_t n = 0;
    int rc;

    r->ad(row, r->field, ad, sizeof(ad));
    rc = herald_crypto_open(&st->key, ad, sealed, len, &plain, &n);
    if (rc == 0)
        rc = herald_crypto_seal(to, ad, plain, n, &out->p, &out->n);
    if (plain) {
        sodium_memzero(plain, n);
        free(plain);
    }
    return rc;
}

/* Writes the re-sealed value v of the row whose key is key. */
static int
reseal_write(struct herald_store *st, sqlite3_stmt *upd, sqlite3_value *key,
             const struct sealed *v)
{
    int code = sqlite3_bind_value(upd, 1, key);

    store_bind_sealed(upd, 2, v, &code);
    return store_run(st, upd, code, "re-seal a value");
}

/* Names the row a value that does not open belongs to. */
static void
reseal_refused(struct herald_store *st, const struct store_reseal *r,
               sqlite3_value *key, int rc, struct herald_error *err)
{
    if (rc == -EBADMSG)
        herald_error_set(err,
                         "%s '%s' (%s) in store '%s' fails to decrypt "
                         "with the current key: altered or moved",
                         r->what, (const char *)sqlite3_value_text(key),
                         r->field, st->path);
    else
        herald_error_set(err, "cannot re-seal %s in store '%s': %s", r->what,
                         st->path, store_reason(st, rc));
}

/* Re-seals the first value after the key bound to sel; 1 when done. */
static int
reseal_next(struct herald_store *st, const struct herald_key *to,
            const struct store_reseal *r, sqlite3_stmt *sel, sqlite3_stmt *upd,
            struct herald_error *err)
{
    struct sealed v = {NULL, 0};
    sqlite3_value *key = NULL;
    int rc = store_row(st, sel, SQLITE_OK, "read a sealed value");

    if (rc <= 0) {
        if (rc < 0)
            reseal_refused(st, r, NULL, rc, err);
        return rc == 0 ? 1 : rc;
    }
    key = sqlite3_value_dup(sqlite3_column_value(sel, 0));
    rc = key ? reseal_value(st, to, r, sel, &v) : -ENOMEM;
    sqlite3_reset(sel);
    if (rc == 0)
        rc = reseal_write(st, upd, key, &v);
    if (rc < 0)
        reseal_refused(st, r, key, rc, err);
    else
        rc = sqlite3_bind_value(sel, 1, key) == SQLITE_OK ? 0 : -ENOMEM;
    free(v.p);
    sqlite3_value_free(key);
    return rc;
}

int
store_reseal(struct herald_store *st, const struct herald_key *to,
             const struct store_reseal *r, int64_t *count,
             struct herald_error *err)
{
    sqlite3_stmt *sel = NULL;
    sqlite3_stmt *upd = NULL;
    int code;
    int rc = 0;

    code = sqlite3_prepare_v2(st->db, r->select, -1, &sel, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_prepare_v2(st->db, r->update, -1, &upd, NULL);
    if (code == SQLITE_OK)
        code = bind_first_key(sel, r);
    if (code != SQLITE_OK) {
        rc = fail(st, code, "prepare a statement");
        reseal_refused(st, r, NULL, rc, err);
    }
    /* One row per step, found again by key after each write: the scan
     * never runs over rows it is changing. */
    while (rc == 0) {
        rc = reseal_next(st, to, r, sel, upd, err);
        if (rc == 0)
            (*count)++;
    }
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc < 0 ? rc : 0;
}

/* Replaces the key check with one sealed under to. */
static int
rekey_check(struct herald_store *st, const struct herald_key *to)
{
    static const char sql[] = "UPDATE meta SET value = ?2 WHERE key = ?1";
    struct sealed v = {NULL, 0};
    sqlite3_stmt *s = NULL;
    int code;
    int rc;

    rc = herald_crypto_seal(to, KEY_CHECK_AD, KEY_CHECK_TEXT,
                            strlen(KEY_CHECK_TEXT), &v.p, &v.n);
    if (rc < 0)
        return rc;
    code = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    store_bind_text(s, 1, KEY_CHECK_NAME, &code);
    store_bind_sealed(s, 2, &v, &code);
    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    rc = code == SQLITE_DONE ? 0 : fail(st, code, "write the key check");
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        rc = -ENOENT;
    sqlite3_finalize(s);
    free(v.p);
    return rc;
}

/* Re-seals everything inside the caller's transaction. */
static int
rekey_all(struct herald_store *st, const struct herald_key *to,
          struct herald_store_rekey_counts *counts, struct herald_error *err)
{
    int rc = store_credentials_reseal(st, to, &counts->credentials, err);

    if (rc == 0)
        rc = store_auth_reseal(st, to, &counts->authorizations, err);
    if (rc == 0)
        rc = store_notices_reseal(st, to, &counts->notices, err);
    if (rc == 0) {
        rc = rekey_check(st, to);
        if (rc < 0)
            herald_error_set(err,
                             "cannot write the key check of store "
                             "'%s': %s",
                             st->path, store_reason(st, rc));
    }
    return rc;
}

int
herald_store_rekey(struct herald_store *st, const struct herald_key *to,
                   struct herald_store_rekey_counts *counts,
                   struct herald_error *err)
{
    int rc;

    memset(counts, 0, sizeof(*counts));
    if (herald_crypto_equal(st->key.bytes, to->bytes, sizeof(to->bytes))) {
        herald_error_set(err, "the new key is the key store '%s' uses",
                         st->path);
        return -EINVAL;
    }
    st->quiet = 1;
    st->last_error[0] = '\0';
    rc = herald_store_begin(st);
    if (rc < 0)
        herald_error_set(err, "cannot write store '%s': %s", st->path,
                         store_reason(st, rc));
    if (rc == 0) {
        rc = store_tx_finish(st, rekey_all(st, to, counts, err));
        if (rc < 0 && !err->msg[0])
            herald_error_set(err, "cannot write store '%s': %s", st->path,
                             store_reason(st, rc));
    }
    st->quiet = 0;
    if (rc == 0)
        memcpy(&st->key, to, sizeof(st->key));
    else
        memset(counts, 0, sizeof(*counts));
    return rc;
}
