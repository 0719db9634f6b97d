/*
 * test_store.c - the store's connection and schema: opening a fresh
 * store, the files it refuses, the key check, nested transactions, and
 * the proof that no secret reaches the database files or the log in the
 * clear.
 *
 * Every store lives in the fixture's private directory under /tmp
 * (store_fixture.h). The planted-token test writes through accounts.c
 * and authorizations.c on purpose: it checks the store's invariant as a
 * whole, in the files SQLite actually writes. The rows themselves are
 * tested in test_accounts.c, test_authorizations.c and test_events.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "log.h"
#include "store_fixture.h"

static void
test_fresh_store(void)
{
    static const char *const tables[] = {
        "meta",  "accounts", "credentials", "auth_attempts",
        "posts", "attempts", "events",      "idempotency",
    };
    struct herald_error err = {""};
    struct herald_store *st;
    struct stat sb;
    char path[256];
    char sql[256];
    sqlite3_stmt *s = NULL;

    path_in_dir(path, sizeof(path), "fresh.db");
    st = open_ok(path, "normal");
    CHECK(herald_store_schema_version(st) == HERALD_STORE_SCHEMA_VERSION);
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                 " AND name = '%s'",
                 tables[i]);
        CHECK(sql_int(st, sql) == 1);
    }
    CHECK(sql_int(st, "PRAGMA synchronous") == 1);
    CHECK(sql_int(st, "PRAGMA foreign_keys") == 1);
    CHECK(sqlite3_prepare_v2(herald_store_db(st), "PRAGMA journal_mode", -1,
                             &s, NULL) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);

    CHECK(herald_store_check_writable(st, &err) == 0);
    CHECK(sql_int(st, "SELECT value FROM meta WHERE key = 'heartbeat'") > 0);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 077) == 0);
    herald_store_close(st);

    st = open_ok(path, "extra");
    CHECK(herald_store_schema_version(st) == HERALD_STORE_SCHEMA_VERSION);
    CHECK(sql_int(st, "PRAGMA synchronous") == 3);
    herald_store_close(st);
    st = open_ok(path, NULL);
    CHECK(sql_int(st, "PRAGMA synchronous") == 2);
    herald_store_close(st);
    herald_store_close(NULL);
}

static void
test_refusals(void)
{
    struct herald_error err = {""};
    struct herald_store *st = NULL;
    sqlite3 *db = NULL;
    char path[256];
    char want[512];
    FILE *f;

    path_in_dir(path, sizeof(path), "newer.db");
    herald_store_close(open_ok(path, NULL));
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_close(db);
    snprintf(want, sizeof(want),
             "store '%s' has schema version 99, newer than this herald "
             "(%d); upgrade herald",
             path, HERALD_STORE_SCHEMA_VERSION);
    CHECK(herald_store_open(path, NULL, 1000, &key, &st, &err) == -ENOTSUP);
    CHECK_STR(err.msg, want);
    CHECK(st == NULL);

    path_in_dir(path, sizeof(path), "text.db");
    f = fopen(path, "w");
    for (int i = 0; f && i < 100; i++)
        fputs("this is a text file, not a database at all\n", f);
    if (f)
        fclose(f);
    snprintf(want, sizeof(want),
             "cannot open store '%s': file is not a database", path);
    CHECK(herald_store_open(path, NULL, 1000, &key, &st, &err) == -EIO);
    CHECK_STR(err.msg, want);

    path_in_dir(path, sizeof(path), "foreign.db");
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE songs (title TEXT)", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(db);
    snprintf(want, sizeof(want),
             "cannot open store '%s': the database belongs to another "
             "program",
             path);
    CHECK(herald_store_open(path, NULL, 1000, &key, &st, &err) == -EINVAL);
    CHECK_STR(err.msg, want);

    path_in_dir(path, sizeof(path), "sync.db");
    snprintf(want, sizeof(want),
             "unknown synchronous mode 'off' for store '%s' (expected full, "
             "normal or extra)",
             path);
    CHECK(herald_store_open(path, "off", 1000, &key, &st, &err) == -EINVAL);
    CHECK_STR(err.msg, want);
    CHECK(access(path, F_OK) != 0);
}

static void
test_wrong_key(void)
{
    struct herald_error err = {""};
    struct herald_store *st = NULL;
    char path[256];
    char want[512];

    path_in_dir(path, sizeof(path), "keyed.db");
    herald_store_close(open_ok(path, NULL));

    snprintf(want, sizeof(want), "key file does not match store '%s'", path);
    CHECK(herald_store_open(path, NULL, 1000, &other_key, &st, &err) ==
          -EACCES);
    CHECK_STR(err.msg, want);
    CHECK(st == NULL);

    st = open_ok(path, NULL);
    CHECK(sql_int(st, "SELECT count(*) FROM meta WHERE key = 'key_check'") ==
          1);
    herald_store_close(st);
}

static void
test_transactions(struct herald_store *st)
{
    int64_t before = sql_int(st, "SELECT count(*) FROM accounts");

    CHECK(herald_store_begin(st) == 0);
    make_account(st, "x", "tx-1");
    herald_store_rollback(st);
    CHECK(sql_int(st, "SELECT count(*) FROM accounts") == before);

    CHECK(herald_store_begin(st) == 0);
    make_account(st, "x", "tx-2");
    CHECK(herald_store_begin(st) == 0);
    make_account(st, "x", "tx-3");
    herald_store_rollback(st);
    CHECK(herald_store_begin(st) == 0);
    make_account(st, "x", "tx-4");
    CHECK(herald_store_commit(st) == 0);
    CHECK(herald_store_commit(st) == 0);
    CHECK(sql_int(st, "SELECT count(*) FROM accounts") == before + 2);
    CHECK(sql_int(st, "SELECT count(*) FROM accounts"
                      " WHERE remote_id = 'tx-3'") == 0);
    CHECK(herald_store_commit(st) == -EINVAL);
}

/* Counts the accounts as another process sees them: committed only. */
static int64_t
committed_accounts(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM accounts", -1, &s,
                           NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* A batch: transactions inside it join it, one flush commits them all. */
static void
test_batch(struct herald_store *st, const char *path)
{
    int64_t before = committed_accounts(path);

    CHECK(herald_store_flush(st) == 0); /* no batch: nothing to do */
    CHECK(herald_store_batch(st) == 0);
    CHECK(herald_store_batch(st) == 0); /* already open: nothing */
    for (int i = 0; i < 3; i++) {
        char id[16];

        snprintf(id, sizeof(id), "batch-%d", i);
        CHECK(herald_store_begin(st) == 0);
        make_account(st, "x", id);
        CHECK(herald_store_commit(st) == 0);
    }
    CHECK(herald_store_begin(st) == 0);
    make_account(st, "x", "batch-undone");
    herald_store_rollback(st);
    /* Seen inside, not yet outside. */
    CHECK(sql_int(st, "SELECT count(*) FROM accounts") == before + 3);
    CHECK(committed_accounts(path) == before);

    /* Not while a transaction inside it is open. */
    CHECK(herald_store_begin(st) == 0);
    CHECK(herald_store_flush(st) == -EBUSY);
    CHECK(herald_store_commit(st) == 0);

    CHECK(herald_store_flush(st) == 0);
    CHECK(committed_accounts(path) == before + 3);
    CHECK(herald_store_flush(st) == 0);
    CHECK(herald_store_commit(st) == -EINVAL);

    /* Inside a transaction a batch is that transaction. */
    CHECK(herald_store_begin(st) == 0);
    CHECK(herald_store_batch(st) == 0);
    make_account(st, "x", "batch-in-tx");
    CHECK(herald_store_flush(st) == 0);
    CHECK(committed_accounts(path) == before + 3);
    CHECK(herald_store_commit(st) == 0);
    CHECK(committed_accounts(path) == before + 4);

    /* Closing the store commits an open batch. */
    CHECK(herald_store_batch(st) == 0);
    make_account(st, "x", "batch-at-close");
}

/* Fails a check for each planted string found in the file at path. */
static void
check_file_clean(const char *path, const char *const *planted, size_t n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    size_t got;

    if (!f)
        return;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);

    for (size_t i = 0; i < n; i++) {
        size_t plen = strlen(planted[i]);

        if (memmem(buf, len, planted[i], plen))
            fprintf(stderr, "'%s' holds '%s'\n", path, planted[i]);
        CHECK(memmem(buf, len, planted[i], plen) == NULL);
    }
    CHECK(memmem(buf, len, key.bytes, sizeof(key.bytes)) == NULL);
    free(buf);
}

static void
check_files_clean(const char *path, const char *const *planted, size_t n)
{
    char side[300];

    check_file_clean(path, planted, n);
    snprintf(side, sizeof(side), "%s-wal", path);
    check_file_clean(side, planted, n);
    snprintf(side, sizeof(side), "%s-shm", path);
    check_file_clean(side, planted, n);
}

static void
test_planted(void)
{
    static const char *const planted[] = {
        "PLANTED-ACCESS-TOKEN-1234", "PLANTED-REFRESH-TOKEN-5678",
        "PLANTED-EXTRA-TOKEN-9012",  "PLANTED-VERIFIER-3456",
        "PLANTED-STATE-7890",
    };
    const size_t n = sizeof(planted) / sizeof(planted[0]);
    struct herald_credentials in = {0};
    struct herald_store_credentials out;
    struct herald_store_auth auth = {0};
    struct herald_store *st;
    char path[256];
    char wal[300];
    struct stat sb;
    int64_t id;

    path_in_dir(path, sizeof(path), "planted.db");
    st = open_ok(path, NULL);
    id = make_account(st, "facebook", "planted-1");
    in.access_token = planted[0];
    in.refresh_token = planted[1];
    in.extra = json_pack("{s:s}", "page_token", planted[2]);
    CHECK(herald_store_credentials_put(st, id, &in) == 0);
    json_decref(in.extra);
    auth.network = "facebook";
    auth.owner_id = "owner-1";
    auth.verifier = planted[3];
    auth.expires_at = now_ms() + 600000;
    CHECK(herald_store_auth_put(st, planted[4], &auth) == 0);

    /* While open the WAL holds the writes; it must be clean too. */
    snprintf(wal, sizeof(wal), "%s-wal", path);
    CHECK(stat(wal, &sb) == 0 && sb.st_size > 0);
    CHECK((sb.st_mode & 077) == 0);
    check_files_clean(path, planted, n);
    herald_store_close(st);
    check_files_clean(path, planted, n);

    st = open_ok(path, NULL);
    CHECK(herald_store_credentials_get(st, id, &out) == 0);
    CHECK_STR(out.access_token, planted[0]);
    CHECK_STR(json_string_value(json_object_get(out.extra, "page_token")),
              planted[2]);
    herald_store_credentials_clear(&out);

    /* Failures are logged, and the log holds no secret either. */
    flip_access_token(st, id);
    CHECK(herald_store_credentials_get(st, id, &out) == -EBADMSG);
    CHECK(herald_store_auth_put(st, planted[4], &auth) == -EEXIST);
    herald_store_close(st);
}

/* Runs the planted-token test with the log going to a file, then reads
 * the log back for the same planted values. */
static void
test_planted_logged(void)
{
    static const char *const planted[] = {
        "PLANTED-ACCESS-TOKEN-1234", "PLANTED-REFRESH-TOKEN-5678",
        "PLANTED-EXTRA-TOKEN-9012",  "PLANTED-VERIFIER-3456",
        "PLANTED-STATE-7890",
    };
    char path[256];
    char text[16384];
    size_t len;
    FILE *f;
    int fd;

    path_in_dir(path, sizeof(path), "planted.log");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    herald_log_level = LOG_DEBUG;
    herald_log_set_fd(fd);
    test_planted();
    herald_log_set_fd(STDERR_FILENO);
    herald_log_level = LOG_INFO;
    close(fd);

    f = fopen(path, "r");
    len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[len] = '\0';
    if (f)
        fclose(f);
    CHECK_CONTAINS(text, "fail to decrypt");
    for (size_t i = 0; i < sizeof(planted) / sizeof(planted[0]); i++)
        CHECK(strstr(text, planted[i]) == NULL);
}

int
main(void)
{
    struct herald_store *st;
    char path[256];

    fixture_setup();

    test_fresh_store();
    test_refusals();
    test_wrong_key();

    path_in_dir(path, sizeof(path), "rows.db");
    st = open_ok(path, NULL);
    test_transactions(st);
    test_batch(st, path);
    herald_store_close(st);
    CHECK(committed_accounts(path) > 0);
    st = open_ok(path, NULL);
    CHECK(sql_int(st, "SELECT count(*) FROM accounts"
                      " WHERE remote_id = 'batch-at-close'") == 1);
    herald_store_close(st);

    test_planted_logged();

    fixture_teardown();
    return check_done();
}
