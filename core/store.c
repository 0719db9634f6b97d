/*
 * store.c - the SQLite store: schema, migrations, the key check, and the
 * reads and writes of accounts, credentials, authorization attempts and
 * events.
 *
 * The schema is the list of migrations below: migration N takes a store
 * from version N - 1 to N in one transaction that ends by setting PRAGMA
 * user_version, so a store is always at exactly one version. A released
 * migration is never edited; a change to the schema is a new entry at the
 * end of the list and a new HERALD_STORE_SCHEMA_VERSION.
 *
 * Statements are prepared on first use and kept until close; values only
 * ever reach SQLite as bound parameters. sqlite3_exec() runs constant
 * text alone (pragmas, DDL, transaction control).
 *
 * Invariant: a secret reaches SQLite only sealed, with associated data
 * naming its table, row and field (ad_credentials(), ad_verifier()), so a
 * blob copied to another row or field no longer opens.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"

#define SUBSYSTEM      "store"
#define APPLICATION_ID 1213353028 /* "HRLD": marks the file as herald's */
#define KEY_CHECK_NAME "key_check"
#define KEY_CHECK_AD   "herald:key-check"
#define KEY_CHECK_TEXT "herald store key check"
#define AD_MAX         128

/*
 * Conventions the later modules keep:
 *   - times are INTEGER milliseconds since the epoch, NULL when unknown;
 *   - posts.next_attempt_at is set while a post waits for a time
 *     (scheduled: its schedule; retrying: its retry) and NULL otherwise,
 *     so the partial index posts_due holds only waiting posts;
 *   - accounts are never deleted, only marked removed, so that posts and
 *     the audit trail keep pointing at them; a removed account's identity
 *     may connect again as a new account;
 *   - events have no foreign keys: the audit trail outlives any row.
 */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value ANY"
    ") STRICT;"

    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  network TEXT NOT NULL,"
    "  remote_id TEXT,"
    "  username TEXT,"
    "  display_name TEXT,"
    "  owner_id TEXT NOT NULL,"
    "  owner_email TEXT,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
    "    ('pending', 'active', 'degraded', 'disconnected', 'removed')),"
    "  status_reason TEXT,"
    "  targets TEXT CHECK (targets IS NULL OR json_valid(targets)),"
    "  connected_at INTEGER,"
    "  access_expires_at INTEGER,"
    "  hard_deadline INTEGER,"
    "  reconnect_deadline INTEGER,"
    "  last_ok_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  CHECK (remote_id IS NOT NULL OR status IN ('pending', 'removed'))"
    ") STRICT;"
    "CREATE UNIQUE INDEX accounts_identity ON accounts (network, remote_id)"
    "  WHERE status <> 'removed';"
    "CREATE INDEX accounts_owner ON accounts (owner_id, network);"

    "CREATE TABLE credentials ("
    "  account_id INTEGER PRIMARY KEY"
    "    REFERENCES accounts (id) ON DELETE CASCADE,"
    "  access_token BLOB,"
    "  refresh_token BLOB,"
    "  extra BLOB,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE auth_attempts ("
    "  state_hash TEXT PRIMARY KEY,"
    "  network TEXT NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  owner_email TEXT,"
    "  account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,"
    "  return_url TEXT,"
    "  verifier BLOB,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX auth_attempts_expiry ON auth_attempts (expires_at);"

    "CREATE TABLE posts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id TEXT NOT NULL,"
    "  account_id INTEGER NOT NULL REFERENCES accounts (id),"
    "  target TEXT,"
    "  text TEXT NOT NULL DEFAULT '',"
    "  link TEXT,"
    "  media TEXT CHECK (media IS NULL OR json_valid(media)),"
    "  scheduled_at INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN"
    "    ('scheduled', 'queued', 'publishing', 'published', 'retrying',"
    "     'blocked', 'failed', 'canceled', 'expired', 'unknown')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER,"
    "  remote_id TEXT,"
    "  remote_url TEXT,"
    "  reason TEXT,"
    "  idempotency_key TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX posts_due ON posts (status, next_attempt_at)"
    "  WHERE next_attempt_at IS NOT NULL;"
    "CREATE INDEX posts_account ON posts (account_id, status, scheduled_at);"
    "CREATE INDEX posts_owner ON posts (owner_id, id);"

    "CREATE TABLE attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,"
    "  operation TEXT NOT NULL DEFAULT 'publish'"
    "    CHECK (operation IN ('publish', 'lookup')),"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  outcome TEXT,"
    "  http_status INTEGER,"
    "  message TEXT,"
    "  checkpoint TEXT CHECK (checkpoint IS NULL OR json_valid(checkpoint))"
    ") STRICT;"
    "CREATE INDEX attempts_post ON attempts (post_id, id);"
    "CREATE INDEX attempts_open ON attempts (post_id)"
    "  WHERE ended_at IS NULL;"

    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  account_id INTEGER,"
    "  post_id INTEGER,"
    "  detail TEXT CHECK (detail IS NULL OR json_valid(detail))"
    ") STRICT;"
    "CREATE INDEX events_account ON events (account_id, id)"
    "  WHERE account_id IS NOT NULL;"
    "CREATE INDEX events_post ON events (post_id, id)"
    "  WHERE post_id IS NOT NULL;"

    /* api_key_id names the caller's API key, never holds its secret. */
    "CREATE TABLE idempotency ("
    "  api_key_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  body_hash TEXT NOT NULL,"
    "  http_status INTEGER NOT NULL,"
    "  response TEXT NOT NULL CHECK (json_valid(response)),"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (api_key_id, key)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX idempotency_created ON idempotency (created_at);"

    "PRAGMA application_id = " HERALD_STR(
        APPLICATION_ID) ";"
                        "PRAGMA user_version = 1;",
};

#define MIGRATION_COUNT (int)(sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
                   HERALD_STORE_SCHEMA_VERSION,
               "one migration per schema version");

enum stmt_id {
    STMT_META_GET,
    STMT_META_PUT,
    STMT_META_ADD,
    STMT_ACCOUNT_INSERT,
    STMT_ACCOUNT_GET,
    STMT_ACCOUNT_SET_EXPIRY,
    STMT_ACCOUNT_COUNT,
    STMT_CREDENTIALS_PUT,
    STMT_CREDENTIALS_GET,
    STMT_EVENT_INSERT,
    STMT_AUTH_INSERT,
    STMT_AUTH_GET,
    STMT_AUTH_USE,
    STMT_AUTH_PURGE,
    STMT_COUNT
};

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [STMT_META_PUT] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                      " ON CONFLICT (key) DO UPDATE SET value = ?2",
    [STMT_META_ADD] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                      " ON CONFLICT (key) DO NOTHING",
    [STMT_ACCOUNT_INSERT] =
        "INSERT INTO accounts (network, remote_id, username, display_name,"
        " owner_id, owner_email, status, status_reason, targets,"
        " connected_at, access_expires_at, hard_deadline,"
        " reconnect_deadline, last_ok_at, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?15)",
    [STMT_ACCOUNT_GET] =
        "SELECT id, network, remote_id, username, display_name, owner_id,"
        " owner_email, status, status_reason, targets, connected_at,"
        " access_expires_at, hard_deadline, reconnect_deadline, last_ok_at,"
        " created_at, updated_at FROM accounts WHERE id = ?1",
    [STMT_ACCOUNT_SET_EXPIRY] =
        "UPDATE accounts SET access_expires_at = ?2, hard_deadline = ?3,"
        " updated_at = ?4 WHERE id = ?1",
    [STMT_ACCOUNT_COUNT] =
        "SELECT count(*) FROM accounts WHERE status <> 'removed'",
    [STMT_CREDENTIALS_PUT] =
        "INSERT INTO credentials (account_id, access_token, refresh_token,"
        " extra, version, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)"
        " ON CONFLICT (account_id) DO UPDATE SET access_token = ?2,"
        " refresh_token = ?3, extra = ?4, version = version + 1,"
        " updated_at = ?5",
    [STMT_CREDENTIALS_GET] =
        "SELECT c.access_token, c.refresh_token, c.extra, c.version,"
        " a.access_expires_at, a.hard_deadline FROM credentials AS c"
        " JOIN accounts AS a ON a.id = c.account_id"
        " WHERE c.account_id = ?1",
    [STMT_EVENT_INSERT] = "INSERT INTO events (at, type, account_id,"
                          " post_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_AUTH_INSERT] =
        "INSERT INTO auth_attempts (state_hash, network, owner_id,"
        " owner_email, account_id, return_url, verifier, created_at,"
        " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [STMT_AUTH_GET] =
        "SELECT network, owner_id, owner_email, account_id, return_url,"
        " verifier, created_at, expires_at, used_at FROM auth_attempts"
        " WHERE state_hash = ?1",
    [STMT_AUTH_USE] = "UPDATE auth_attempts SET used_at = ?2"
                      " WHERE state_hash = ?1 AND used_at IS NULL",
    [STMT_AUTH_PURGE] = "DELETE FROM auth_attempts WHERE expires_at < ?1",
};

static const char *const status_names[] = {
    [HERALD_ACCOUNT_PENDING] = "pending",
    [HERALD_ACCOUNT_ACTIVE] = "active",
    [HERALD_ACCOUNT_DEGRADED] = "degraded",
    [HERALD_ACCOUNT_DISCONNECTED] = "disconnected",
    [HERALD_ACCOUNT_REMOVED] = "removed",
};

#define STATUS_COUNT (sizeof(status_names) / sizeof(status_names[0]))

static const struct {
    const char *name;
    const char *pragma;
} sync_modes[] = {
    {"full", "PRAGMA synchronous = FULL"},
    {"normal", "PRAGMA synchronous = NORMAL"},
    {"extra", "PRAGMA synchronous = EXTRA"},
};

/* The credential fields, in the order of their columns. */
static const char *const cred_fields[] = {
    "access_token",
    "refresh_token",
    "extra",
};

#define CRED_FIELDS (sizeof(cred_fields) / sizeof(cred_fields[0]))

struct herald_store {
    sqlite3 *db;
    char *path;
    struct herald_key key;
    int depth; /* open transactions and savepoints */
    int ready; /* opened, migrated and key-checked */
    int quiet; /* failures go to the caller's err, not to the log */
    char last_error[256];
    sqlite3_stmt *stmts[STMT_COUNT];
};

/* A sealed value: malloc()ed bytes, or NULL for SQL NULL. */
struct sealed {
    unsigned char *p;
    size_t n;
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
free_str(const char *p)
{
    free((void *)(uintptr_t)p);
}

/* Overwrites a secret string, then frees it. */
static void
wipe_str(const char *p)
{
    if (!p)
        return;
    sodium_memzero((void *)(uintptr_t)p, strlen(p));
    free_str(p);
}

static void
ad_credentials(char *ad, size_t len, int64_t account_id, const char *field)
{
    snprintf(ad, len, "herald:credentials:%" PRId64 ":%s", account_id, field);
}

static void
ad_verifier(char *ad, size_t len, const char *state_hash)
{
    snprintf(ad, len, "herald:auth_attempts:%s:verifier", state_hash);
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
        HLOG(level, SUBSYSTEM, "cannot %s in store '%s': %s", what, st->path,
             st->last_error);
    return errno_of(code);
}

/* The reason to give for rc: SQLite's message when it failed, else rc's. */
static const char *
reason(const struct herald_store *st, int rc)
{
    return st->last_error[0] ? st->last_error : strerror(-rc);
}

/* Runs constant SQL text that takes no values. */
static int
exec(struct herald_store *st, const char *sql, const char *what)
{
    int code = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

    return code == SQLITE_OK ? 0 : fail(st, code, what);
}

/* Runs a constant one-row query and reads its integer into *v. */
static int
query_int(struct herald_store *st, const char *sql, int64_t *v)
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

/* Sets *out to cached statement id, preparing it on first use. */
static int
stmt_get(struct herald_store *st, enum stmt_id id, sqlite3_stmt **out)
{
    int code;

    *out = NULL;
    if (!st->stmts[id]) {
        code = sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
                                  SQLITE_PREPARE_PERSISTENT, &st->stmts[id],
                                  NULL);
        if (code != SQLITE_OK)
            return fail(st, code, "prepare a statement");
    }
    *out = st->stmts[id];
    return 0;
}

/* Makes s ready for its next use and drops its bindings. */
static void
stmt_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/*
 * The bind helpers keep the first failure in *code and do nothing once
 * one happened, so a statement is bound in a straight list and checked
 * once. Values are SQLITE_STATIC: they must outlive the step.
 */
static void
bind_text(sqlite3_stmt *s, int i, const char *v, int *code)
{
    if (*code != SQLITE_OK)
        return;
    *code = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
              : sqlite3_bind_null(s, i);
}

static void
bind_int(sqlite3_stmt *s, int i, int64_t v, int *code)
{
    if (*code == SQLITE_OK)
        *code = sqlite3_bind_int64(s, i, v);
}

/* Binds v, or NULL when v is 0 (an unknown time, an absent id). */
static void
bind_opt(sqlite3_stmt *s, int i, int64_t v, int *code)
{
    if (*code != SQLITE_OK)
        return;
    *code = v ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

static void
bind_sealed(sqlite3_stmt *s, int i, const struct sealed *v, int *code)
{
    if (*code != SQLITE_OK)
        return;
    *code = v->p ? sqlite3_bind_blob64(s, i, v->p, v->n, SQLITE_STATIC)
                 : sqlite3_bind_null(s, i);
}

/*
 * Steps s, bound with result code, to its end and resets it. Returns 0
 * or a negative errno value.
 */
static int
stmt_run(struct herald_store *st, sqlite3_stmt *s, int code, const char *what)
{
    int rc = 0;

    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    if (code != SQLITE_DONE)
        rc = fail(st, code, what);
    stmt_done(s);
    return rc;
}

/*
 * Steps query s, bound with result code. Returns 1 when a row is ready, 0
 * when there is none, or a negative errno value. The caller resets s.
 */
static int
stmt_row(struct herald_store *st, sqlite3_stmt *s, int code, const char *what)
{
    if (code == SQLITE_OK)
        code = sqlite3_step(s);
    if (code == SQLITE_ROW)
        return 1;
    if (code == SQLITE_DONE)
        return 0;
    return fail(st, code, what);
}

/* Copies text column i into *out, NULL for SQL NULL; keeps *rc's error. */
static void
col_text(sqlite3_stmt *s, int i, const char **out, int *rc)
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

/* Parses JSON text column i into *out (new reference), NULL for NULL. */
static void
col_json(sqlite3_stmt *s, int i, json_t **out, int *rc)
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

/* Serializes j (borrowed, may be NULL) into *out, malloc()ed or NULL. */
static int
dump_json(const json_t *j, char **out)
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
    int rc = exec(st, sql, "begin a transaction");

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
    st->depth--;
}

int
herald_store_commit(struct herald_store *st)
{
    const char *sql = st->depth > 1 ? "RELEASE nest" : "COMMIT";
    int rc;

    if (st->depth == 0)
        return -EINVAL;
    rc = exec(st, sql, "commit a transaction");
    if (rc < 0) {
        herald_store_rollback(st);
        return rc;
    }
    st->depth--;
    return 0;
}

/* Ends the transaction a step began: commits if rc is 0, else rolls back. */
static int
tx_finish(struct herald_store *st, int rc)
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
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    *value = NULL;
    *len = 0;
    rc = stmt_get(st, STMT_META_GET, &s);
    if (rc < 0)
        return rc;
    bind_text(s, 1, key, &code);
    rc = stmt_row(st, s, code, "read meta");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1) {
        *len = (size_t)sqlite3_column_bytes(s, 0);
        *value = malloc(*len + 1);
        rc = *value ? 0 : -ENOMEM;
    }
    if (rc == 0)
        memcpy(*value, sqlite3_column_blob(s, 0), *len);
    stmt_done(s);
    return rc;
}

/* Inserts meta value key unless it exists. */
static int
meta_add(struct herald_store *st, const char *key, const struct sealed *v)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_META_ADD, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, key, &code);
    bind_sealed(s, 2, v, &code);
    return stmt_run(st, s, code, "write meta");
}

/* Sets meta value key to the integer v. */
static int
meta_put_int(struct herald_store *st, const char *key, int64_t v)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_META_PUT, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, key, &code);
    bind_int(s, 2, v, &code);
    return stmt_run(st, s, code, "write meta");
}

/* Opening: file, connection, pragmas, migrations, key check */

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
        rc = exec(st, sync, "set synchronous");
    if (rc == 0)
        rc = exec(st, "PRAGMA foreign_keys = ON", "enable foreign keys");
    return rc;
}

/* Reads the version and refuses files herald did not make or cannot read. */
static int
check_version(struct herald_store *st, int64_t *version,
              struct herald_error *err)
{
    int64_t app_id = 0;
    int64_t objects = 0;
    int rc;

    rc = query_int(st, "PRAGMA user_version", version);
    if (rc == 0)
        rc = query_int(st, "PRAGMA application_id", &app_id);
    if (rc == 0)
        rc = query_int(st, "SELECT count(*) FROM sqlite_master", &objects);
    if (rc < 0) {
        herald_error_set(err, "cannot open store '%s': %s", st->path,
                         reason(st, rc));
        return rc;
    }

    if (*version > HERALD_STORE_SCHEMA_VERSION) {
        herald_error_set(err,
                         "store '%s' has schema version %" PRId64
                         ", newer than this herald (%d); upgrade herald",
                         st->path, *version, HERALD_STORE_SCHEMA_VERSION);
        return -ENOTSUP;
    }
    if (*version == 0 ? objects != 0 : app_id != APPLICATION_ID) {
        herald_error_set(err,
                         "cannot open store '%s': the database belongs to "
                         "another program",
                         st->path);
        return -EINVAL;
    }
    return 0;
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
                         reason(st, rc));
        return rc;
    }
    rc = check_version(st, version, err);
    if (rc < 0)
        return rc;
    rc = configure(st, sync);
    if (rc < 0)
        herald_error_set(err, "cannot open store '%s': %s", st->path,
                         reason(st, rc));
    return rc;
}

/* Runs migration from + 1 unless another process ran it meanwhile. */
static int
apply_migration(struct herald_store *st, int from)
{
    int64_t version = 0;
    int rc = herald_store_begin(st);

    if (rc < 0)
        return rc;
    rc = query_int(st, "PRAGMA user_version", &version);
    if (rc == 0 && version == from) {
        rc = exec(st, migrations[from], "migrate");
        if (rc == 0)
            rc = query_int(st, "PRAGMA user_version", &version);
        if (rc == 0 && version != from + 1) {
            snprintf(st->last_error, sizeof(st->last_error),
                     "migration %d left schema version %" PRId64, from + 1,
                     version);
            rc = -EPROTO;
        }
    }
    return tx_finish(st, rc);
}

/* Brings the store from version to the newest schema. */
static int
migrate(struct herald_store *st, int64_t version, struct herald_error *err)
{
    int rc = 0;

    for (int v = (int)version; v < MIGRATION_COUNT; v++) {
        rc = apply_migration(st, v);
        if (rc < 0) {
            herald_error_set(err,
                             "cannot migrate store '%s' to schema version "
                             "%d: %s",
                             st->path, v + 1, reason(st, rc));
            break;
        }
        HLOG(LOG_NOTICE, SUBSYSTEM, "store '%s' migrated to schema version %d",
             st->path, v + 1);
    }
    return rc;
}

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
                         reason(st, rc));
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
        rc = migrate(st, version, err);
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
        HLOG(LOG_ERR, SUBSYSTEM,
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

int
herald_store_schema_version(struct herald_store *st)
{
    int64_t version = 0;
    int rc = query_int(st, "PRAGMA user_version", &version);

    return rc < 0 ? rc : (int)version;
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
        rc = tx_finish(st, meta_put_int(st, "heartbeat", now_ms()));
    st->quiet = 0;

    if (rc < 0)
        herald_error_set(err, "cannot write store '%s': %s", st->path,
                         reason(st, rc));
    return rc;
}

/* Accounts */

const char *
herald_store_account_status_name(enum herald_account_status s)
{
    if ((unsigned)s >= STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

int
herald_store_account_status_parse(const char *name,
                                  enum herald_account_status *s)
{
    for (unsigned i = 0; i < STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *s = (enum herald_account_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int
bind_account(sqlite3_stmt *s, const struct herald_store_account *a,
             const char *targets, int64_t now)
{
    int code = SQLITE_OK;

    bind_text(s, 1, a->network, &code);
    bind_text(s, 2, a->remote_id, &code);
    bind_text(s, 3, a->username, &code);
    bind_text(s, 4, a->display_name, &code);
    bind_text(s, 5, a->owner_id, &code);
    bind_text(s, 6, a->owner_email, &code);
    bind_text(s, 7, herald_store_account_status_name(a->status), &code);
    bind_text(s, 8, a->status_reason, &code);
    bind_text(s, 9, targets, &code);
    bind_opt(s, 10, a->connected_at, &code);
    bind_opt(s, 11, a->access_expires_at, &code);
    bind_opt(s, 12, a->hard_deadline, &code);
    bind_opt(s, 13, a->reconnect_deadline, &code);
    bind_opt(s, 14, a->last_ok_at, &code);
    bind_int(s, 15, now, &code);
    return code;
}

int
herald_store_account_create(struct herald_store *st,
                            const struct herald_store_account *in, int64_t *id)
{
    char *targets = NULL;
    sqlite3_stmt *s = NULL;
    int rc;

    *id = 0;
    if (!in->network || !in->owner_id || (unsigned)in->status >= STATUS_COUNT)
        return -EINVAL;

    rc = dump_json(in->targets, &targets);
    if (rc == 0)
        rc = stmt_get(st, STMT_ACCOUNT_INSERT, &s);
    if (rc == 0)
        rc = stmt_run(st, s, bind_account(s, in, targets, now_ms()),
                      "create an account");
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(st->db);

    free(targets);
    return rc;
}

static int
read_account(sqlite3_stmt *s, struct herald_store_account *a)
{
    const char *status = NULL;
    int rc = 0;

    a->id = sqlite3_column_int64(s, 0);
    col_text(s, 1, &a->network, &rc);
    col_text(s, 2, &a->remote_id, &rc);
    col_text(s, 3, &a->username, &rc);
    col_text(s, 4, &a->display_name, &rc);
    col_text(s, 5, &a->owner_id, &rc);
    col_text(s, 6, &a->owner_email, &rc);
    col_text(s, 7, &status, &rc);
    col_text(s, 8, &a->status_reason, &rc);
    col_json(s, 9, &a->targets, &rc);
    a->connected_at = sqlite3_column_int64(s, 10);
    a->access_expires_at = sqlite3_column_int64(s, 11);
    a->hard_deadline = sqlite3_column_int64(s, 12);
    a->reconnect_deadline = sqlite3_column_int64(s, 13);
    a->last_ok_at = sqlite3_column_int64(s, 14);
    a->created_at = sqlite3_column_int64(s, 15);
    a->updated_at = sqlite3_column_int64(s, 16);

    if (rc == 0 && herald_store_account_status_parse(status, &a->status) < 0)
        rc = -EIO;
    free_str(status);
    return rc;
}

int
herald_store_account_get(struct herald_store *st, int64_t id,
                         struct herald_store_account *out)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = stmt_get(st, STMT_ACCOUNT_GET, &s);
    if (rc < 0)
        return rc;
    bind_int(s, 1, id, &code);
    rc = stmt_row(st, s, code, "read an account");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_account(s, out);
    stmt_done(s);

    if (rc < 0)
        herald_store_account_clear(out);
    return rc;
}

void
herald_store_account_clear(struct herald_store_account *a)
{
    if (!a)
        return;
    free_str(a->network);
    free_str(a->remote_id);
    free_str(a->username);
    free_str(a->display_name);
    free_str(a->owner_id);
    free_str(a->owner_email);
    free_str(a->status_reason);
    json_decref(a->targets);
    memset(a, 0, sizeof(*a));
}

int
herald_store_count_accounts(struct herald_store *st, int64_t *n)
{
    sqlite3_stmt *s;
    int rc;

    *n = 0;
    rc = stmt_get(st, STMT_ACCOUNT_COUNT, &s);
    if (rc < 0)
        return rc;
    rc = stmt_row(st, s, SQLITE_OK, "count accounts");
    if (rc == 1) {
        *n = sqlite3_column_int64(s, 0);
        rc = 0;
    }
    stmt_done(s);
    return rc;
}

/* Credentials */

static int
seal_field(struct herald_store *st, int64_t account_id, const char *field,
           const char *plain, struct sealed *out)
{
    char ad[AD_MAX];

    if (!plain)
        return 0;
    ad_credentials(ad, sizeof(ad), account_id, field);
    return herald_crypto_seal(&st->key, ad, plain, strlen(plain), &out->p,
                              &out->n);
}

/* Seals each secret of c into out[], in the order of cred_fields. */
static int
seal_credentials(struct herald_store *st, int64_t account_id,
                 const struct herald_credentials *c, struct sealed *out)
{
    char *extra = NULL;
    int rc = dump_json(c->extra, &extra);
    const char *plain[CRED_FIELDS] = {c->access_token, c->refresh_token,
                                      extra};

    for (size_t i = 0; rc == 0 && i < CRED_FIELDS; i++)
        rc = seal_field(st, account_id, cred_fields[i], plain[i], &out[i]);

    wipe_str(extra);
    return rc;
}

static int
set_expiry(struct herald_store *st, int64_t account_id,
           const struct herald_credentials *c, int64_t now)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_ACCOUNT_SET_EXPIRY, &s);

    if (rc < 0)
        return rc;
    bind_int(s, 1, account_id, &code);
    bind_opt(s, 2, c->access_expires_at, &code);
    bind_opt(s, 3, c->hard_deadline, &code);
    bind_int(s, 4, now, &code);
    rc = stmt_run(st, s, code, "update an account");
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = -ENOENT;
    return rc;
}

static int
write_credentials(struct herald_store *st, int64_t account_id,
                  const struct sealed *v, int64_t now)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_CREDENTIALS_PUT, &s);

    if (rc < 0)
        return rc;
    bind_int(s, 1, account_id, &code);
    for (size_t i = 0; i < CRED_FIELDS; i++)
        bind_sealed(s, 2 + (int)i, &v[i], &code);
    bind_int(s, 5, now, &code);
    return stmt_run(st, s, code, "write credentials");
}

int
herald_store_credentials_put(struct herald_store *st, int64_t account_id,
                             const struct herald_credentials *c)
{
    struct sealed sealed[CRED_FIELDS] = {{NULL, 0}};
    int64_t now = now_ms();
    int rc;

    /* Sealed before the transaction, so the write lock is held briefly. */
    rc = seal_credentials(st, account_id, c, sealed);
    if (rc == 0)
        rc = herald_store_begin(st);
    if (rc == 0) {
        rc = set_expiry(st, account_id, c, now);
        if (rc == 0)
            rc = write_credentials(st, account_id, sealed, now);
        rc = tx_finish(st, rc);
    }

    for (size_t i = 0; i < CRED_FIELDS; i++)
        free(sealed[i].p);
    return rc;
}

/* Opens sealed column col of field into *out (NULL for SQL NULL). */
static int
open_field(struct herald_store *st, sqlite3_stmt *s, int col, const char *ad,
           char **out)
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

static int
read_credentials(struct herald_store *st, sqlite3_stmt *s, int64_t id,
                 struct herald_store_credentials *out)
{
    char *plain[CRED_FIELDS] = {NULL, NULL, NULL};
    char ad[AD_MAX];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < CRED_FIELDS; i++) {
        ad_credentials(ad, sizeof(ad), id, cred_fields[i]);
        rc = open_field(st, s, (int)i, ad, &plain[i]);
    }
    out->access_token = plain[0];
    out->refresh_token = plain[1];
    if (rc == 0 && plain[2]) {
        out->extra = json_loads(plain[2], 0, NULL);
        rc = out->extra ? 0 : -EBADMSG;
    }
    wipe_str(plain[2]);

    out->version = sqlite3_column_int64(s, 3);
    out->access_expires_at = sqlite3_column_int64(s, 4);
    out->hard_deadline = sqlite3_column_int64(s, 5);
    return rc;
}

int
herald_store_credentials_get(struct herald_store *st, int64_t account_id,
                             struct herald_store_credentials *out)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = stmt_get(st, STMT_CREDENTIALS_GET, &s);
    if (rc < 0)
        return rc;
    bind_int(s, 1, account_id, &code);
    rc = stmt_row(st, s, code, "read credentials");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_credentials(st, s, account_id, out);
    stmt_done(s);

    if (rc == -EBADMSG)
        HLOG_ACCOUNT(LOG_ERR, SUBSYSTEM, account_id, 0,
                     "credentials in store '%s' fail to decrypt: altered "
                     "or moved from another account",
                     st->path);
    if (rc < 0)
        herald_store_credentials_clear(out);
    return rc;
}

void
herald_store_credentials_view(const struct herald_store_credentials *c,
                              struct herald_credentials *view)
{
    view->access_token = c->access_token;
    view->refresh_token = c->refresh_token;
    view->access_expires_at = c->access_expires_at;
    view->hard_deadline = c->hard_deadline;
    view->extra = c->extra;
}

void
herald_store_credentials_clear(struct herald_store_credentials *c)
{
    if (!c)
        return;
    wipe_str(c->access_token);
    wipe_str(c->refresh_token);
    json_decref(c->extra);
    memset(c, 0, sizeof(*c));
}

/* Events */

int
herald_store_event_append(struct herald_store *st, const char *type,
                          int64_t account_id, int64_t post_id,
                          const json_t *detail)
{
    char *text = NULL;
    sqlite3_stmt *s = NULL;
    int code = SQLITE_OK;
    int rc;

    if (!type)
        return -EINVAL;
    rc = dump_json(detail, &text);
    if (rc == 0)
        rc = stmt_get(st, STMT_EVENT_INSERT, &s);
    if (rc == 0) {
        bind_int(s, 1, now_ms(), &code);
        bind_text(s, 2, type, &code);
        bind_opt(s, 3, account_id, &code);
        bind_opt(s, 4, post_id, &code);
        bind_text(s, 5, text, &code);
        rc = stmt_run(st, s, code, "append an event");
    }
    free(text);
    return rc;
}

/* Authorization attempts */

static int
insert_auth(struct herald_store *st, const char *hash,
            const struct herald_store_auth *in, const struct sealed *verifier)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_AUTH_INSERT, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, hash, &code);
    bind_text(s, 2, in->network, &code);
    bind_text(s, 3, in->owner_id, &code);
    bind_text(s, 4, in->owner_email, &code);
    bind_opt(s, 5, in->account_id, &code);
    bind_text(s, 6, in->return_url, &code);
    bind_sealed(s, 7, verifier, &code);
    bind_int(s, 8, in->created_at ? in->created_at : now_ms(), &code);
    bind_int(s, 9, in->expires_at, &code);
    return stmt_run(st, s, code, "record an authorization attempt");
}

int
herald_store_auth_put(struct herald_store *st, const char *state,
                      const struct herald_store_auth *in)
{
    struct sealed verifier = {NULL, 0};
    char hash[65];
    char ad[AD_MAX];
    int rc = 0;

    if (!state || !in->network || !in->owner_id || in->expires_at <= 0)
        return -EINVAL;
    herald_crypto_sha256_hex(state, hash);

    if (in->verifier) {
        ad_verifier(ad, sizeof(ad), hash);
        rc =
            herald_crypto_seal(&st->key, ad, in->verifier,
                               strlen(in->verifier), &verifier.p, &verifier.n);
    }
    if (rc == 0)
        rc = insert_auth(st, hash, in, &verifier);
    free(verifier.p);
    return rc;
}

/* Checks the selected attempt is usable and copies it into out. */
static int
read_auth(struct herald_store *st, sqlite3_stmt *s, const char *hash,
          int64_t now, struct herald_store_auth *out)
{
    char *verifier = NULL;
    char ad[AD_MAX];
    int rc = 0;

    if (sqlite3_column_type(s, 8) != SQLITE_NULL)
        return -EALREADY;
    if (sqlite3_column_int64(s, 7) <= now)
        return -ESTALE;

    col_text(s, 0, &out->network, &rc);
    col_text(s, 1, &out->owner_id, &rc);
    col_text(s, 2, &out->owner_email, &rc);
    out->account_id = sqlite3_column_int64(s, 3);
    col_text(s, 4, &out->return_url, &rc);
    out->created_at = sqlite3_column_int64(s, 6);
    out->expires_at = sqlite3_column_int64(s, 7);
    if (rc < 0)
        return rc;

    ad_verifier(ad, sizeof(ad), hash);
    rc = open_field(st, s, 5, ad, &verifier);
    out->verifier = verifier;
    return rc;
}

static int
load_auth(struct herald_store *st, const char *hash, int64_t now,
          struct herald_store_auth *out)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_AUTH_GET, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, hash, &code);
    rc = stmt_row(st, s, code, "read an authorization attempt");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_auth(st, s, hash, now, out);
    stmt_done(s);
    return rc;
}

static int
mark_auth_used(struct herald_store *st, const char *hash, int64_t now)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_AUTH_USE, &s);

    if (rc < 0)
        return rc;
    bind_text(s, 1, hash, &code);
    bind_int(s, 2, now, &code);
    rc = stmt_run(st, s, code, "use an authorization attempt");
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        rc = -EALREADY;
    return rc;
}

int
herald_store_auth_take(struct herald_store *st, const char *state,
                       struct herald_store_auth *out)
{
    int64_t now = now_ms();
    char hash[65];
    int rc;

    memset(out, 0, sizeof(*out));
    if (!state)
        return -ENOENT;
    herald_crypto_sha256_hex(state, hash);

    rc = herald_store_begin(st);
    if (rc < 0)
        return rc;
    rc = load_auth(st, hash, now, out);
    if (rc == 0)
        rc = mark_auth_used(st, hash, now);
    rc = tx_finish(st, rc);

    if (rc == -EBADMSG)
        HLOG(LOG_ERR, SUBSYSTEM,
             "an authorization attempt in store '%s' fails to decrypt",
             st->path);
    if (rc < 0)
        herald_store_auth_clear(out);
    return rc;
}

void
herald_store_auth_clear(struct herald_store_auth *a)
{
    if (!a)
        return;
    free_str(a->network);
    free_str(a->owner_id);
    free_str(a->owner_email);
    free_str(a->return_url);
    wipe_str(a->verifier);
    memset(a, 0, sizeof(*a));
}

int
herald_store_auth_purge(struct herald_store *st, int64_t before, int64_t *n)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = stmt_get(st, STMT_AUTH_PURGE, &s);

    if (n)
        *n = 0;
    if (rc < 0)
        return rc;
    bind_int(s, 1, before, &code);
    rc = stmt_run(st, s, code, "purge authorization attempts");
    if (rc == 0 && n)
        *n = sqlite3_changes(st->db);
    return rc;
}
