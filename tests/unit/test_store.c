/*
 * test_store.c - the SQLite store: opening, migrations, refusals, and the
 * reads and writes of accounts, credentials, authorization attempts and
 * events.
 *
 * Every store lives in a private directory under /tmp. Where the store
 * must notice tampering, the test changes the file behind its back with
 * raw SQL through herald_store_db(). The planted-token test proves that
 * no secret reaches the database files in the clear.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "crypto.h"
#include "store.h"
#include "log.h"

static char dir[] = "/tmp/herald-store-XXXXXX";
static struct herald_key key;
static struct herald_key other_key;

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
path_in_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Opens a store that must open; exits when it does not. */
static struct herald_store *
open_ok(const char *path, const char *sync)
{
    struct herald_error err = {""};
    struct herald_store *st = NULL;

    if (herald_store_open(path, sync, 1000, &key, &st, &err) != 0) {
        fprintf(stderr, "cannot open test store: %s\n", err.msg);
        exit(2);
    }
    return st;
}

/* Runs a one-row integer query on the store's own connection. */
static int64_t
sql_int(struct herald_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;

    if (sqlite3_prepare_v2(herald_store_db(st), sql, -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int
sql_exec(struct herald_store *st, const char *sql)
{
    return sqlite3_exec(herald_store_db(st), sql, NULL, NULL, NULL);
}

static int64_t
make_account(struct herald_store *st, const char *network,
             const char *remote_id)
{
    struct herald_store_account a = {0};
    int64_t id = 0;

    a.network = network;
    a.remote_id = remote_id;
    a.owner_id = "owner-1";
    a.status = HERALD_ACCOUNT_ACTIVE;
    CHECK(herald_store_account_create(st, &a, &id) == 0);
    return id;
}

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
test_accounts(struct herald_store *st)
{
    struct herald_store_account in = {0};
    struct herald_store_account out;
    int64_t id = 0;
    int64_t dup = 0;
    int64_t n = 0;

    in.network = "linkedin";
    in.remote_id = "urn:li:person:42";
    in.username = "ada";
    in.display_name = "Ada Lovelace";
    in.owner_id = "owner-7";
    in.owner_email = "ada@example.org";
    in.status = HERALD_ACCOUNT_ACTIVE;
    in.status_reason = "authorized";
    in.targets = json_pack("[{s:s}]", "id", "page-1");
    in.connected_at = 1700000000000;
    in.hard_deadline = 1731536000000;
    CHECK(herald_store_account_create(st, &in, &id) == 0);
    CHECK(id > 0);

    CHECK(herald_store_account_get(st, id, &out) == 0);
    CHECK(out.id == id);
    CHECK_STR(out.network, "linkedin");
    CHECK_STR(out.remote_id, "urn:li:person:42");
    CHECK_STR(out.display_name, "Ada Lovelace");
    CHECK_STR(out.owner_email, "ada@example.org");
    CHECK(out.status == HERALD_ACCOUNT_ACTIVE);
    CHECK_STR(out.status_reason, "authorized");
    CHECK(json_equal(out.targets, in.targets));
    CHECK(out.connected_at == 1700000000000);
    CHECK(out.hard_deadline == 1731536000000);
    CHECK(out.access_expires_at == 0 && out.reconnect_deadline == 0);
    CHECK(out.created_at > 0 && out.updated_at == out.created_at);
    herald_store_account_clear(&out);
    CHECK(out.network == NULL);

    /* One live account per identity; a removed one frees it. */
    CHECK(herald_store_account_create(st, &in, &dup) == -EEXIST);
    CHECK(sql_exec(st, "UPDATE accounts SET status = 'removed'") == SQLITE_OK);
    CHECK(herald_store_account_create(st, &in, &dup) == 0);
    CHECK(dup > id);
    CHECK(herald_store_count_accounts(st, &n) == 0 && n == 1);

    CHECK(herald_store_account_get(st, 99999, &out) == -ENOENT);
    in.remote_id = NULL; /* only a pending account may lack one */
    CHECK(herald_store_account_create(st, &in, &dup) == -EINVAL);
    in.owner_id = NULL;
    CHECK(herald_store_account_create(st, &in, &dup) == -EINVAL);
    json_decref(in.targets);

    CHECK_STR(herald_store_account_status_name(HERALD_ACCOUNT_DISCONNECTED),
              "disconnected");
    {
        enum herald_account_status s = HERALD_ACCOUNT_PENDING;

        CHECK(herald_store_account_status_parse("degraded", &s) == 0);
        CHECK(s == HERALD_ACCOUNT_DEGRADED);
        CHECK(herald_store_account_status_parse("gone", &s) == -EINVAL);
    }
}

static void
test_credentials(struct herald_store *st)
{
    struct herald_credentials in = {0};
    struct herald_store_credentials out;
    struct herald_store_account acc;
    int64_t id = make_account(st, "x", "credentials-1");

    CHECK(herald_store_credentials_get(st, id, &out) == -ENOENT);

    in.access_token = "access-1";
    in.refresh_token = "refresh-1";
    in.access_expires_at = 1800000000000;
    in.hard_deadline = 1900000000000;
    in.extra = json_pack("{s:s}", "page", "page-token");
    CHECK(herald_store_credentials_put(st, id, &in) == 0);
    json_decref(in.extra);

    CHECK(herald_store_credentials_get(st, id, &out) == 0);
    CHECK_STR(out.access_token, "access-1");
    CHECK_STR(out.refresh_token, "refresh-1");
    CHECK_STR(json_string_value(json_object_get(out.extra, "page")),
              "page-token");
    CHECK(out.access_expires_at == 1800000000000);
    CHECK(out.hard_deadline == 1900000000000);
    CHECK(out.version == 1);
    herald_store_credentials_clear(&out);
    CHECK(out.access_token == NULL && out.extra == NULL);

    CHECK(herald_store_account_get(st, id, &acc) == 0);
    CHECK(acc.access_expires_at == 1800000000000);
    CHECK(acc.hard_deadline == 1900000000000);
    herald_store_account_clear(&acc);

    /* A rotation: new values, no refresh token, version bumped. */
    in.access_token = "access-2";
    in.refresh_token = NULL;
    in.extra = NULL;
    in.hard_deadline = 0;
    CHECK(herald_store_credentials_put(st, id, &in) == 0);
    CHECK(herald_store_credentials_get(st, id, &out) == 0);
    CHECK_STR(out.access_token, "access-2");
    CHECK(out.refresh_token == NULL && out.extra == NULL);
    CHECK(out.hard_deadline == 0);
    CHECK(out.version == 2);
    {
        struct herald_credentials view;

        herald_store_credentials_view(&out, &view);
        CHECK(view.access_token == out.access_token);
        CHECK(view.access_expires_at == 1800000000000);
    }
    herald_store_credentials_clear(&out);

    CHECK(herald_store_credentials_put(st, 99999, &in) == -ENOENT);
    CHECK(sql_int(st, "SELECT count(*) FROM credentials"
                      " WHERE account_id = 99999") == 0);
}

static void
test_credentials_moved(struct herald_store *st)
{
    struct herald_credentials in = {0};
    struct herald_store_credentials out;
    int64_t a = make_account(st, "x", "moved-a");
    int64_t b = make_account(st, "x", "moved-b");
    char sql[256];

    in.access_token = "token-a";
    in.refresh_token = "refresh-a";
    CHECK(herald_store_credentials_put(st, a, &in) == 0);
    in.access_token = "token-b";
    in.refresh_token = "refresh-b";
    CHECK(herald_store_credentials_put(st, b, &in) == 0);

    /* A's row copied onto B's. */
    snprintf(sql, sizeof(sql),
             "UPDATE credentials SET access_token = (SELECT access_token"
             " FROM credentials WHERE account_id = %lld),"
             " refresh_token = (SELECT refresh_token FROM credentials"
             " WHERE account_id = %lld) WHERE account_id = %lld",
             (long long)a, (long long)a, (long long)b);
    CHECK(sql_exec(st, sql) == SQLITE_OK);
    CHECK(herald_store_credentials_get(st, b, &out) == -EBADMSG);
    CHECK(out.access_token == NULL && out.refresh_token == NULL);

    /* A's refresh token moved into its access token field. */
    snprintf(sql, sizeof(sql),
             "UPDATE credentials SET access_token = refresh_token"
             " WHERE account_id = %lld",
             (long long)a);
    CHECK(sql_exec(st, sql) == SQLITE_OK);
    CHECK(herald_store_credentials_get(st, a, &out) == -EBADMSG);
}

/* Reads the access token blob of account id, flips one bit, writes it. */
static void
flip_access_token(struct herald_store *st, int64_t id)
{
    sqlite3 *db = herald_store_db(st);
    sqlite3_stmt *s = NULL;
    unsigned char blob[256];
    int len = 0;

    CHECK(sqlite3_prepare_v2(db,
                             "SELECT access_token FROM credentials"
                             " WHERE account_id = ?1",
                             -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        len = sqlite3_column_bytes(s, 0);
        if (len > (int)sizeof(blob))
            len = 0;
        memcpy(blob, sqlite3_column_blob(s, 0), (size_t)len);
    }
    sqlite3_finalize(s);
    CHECK(len > HERALD_CRYPTO_OVERHEAD);
    blob[len / 2] ^= 0x40;

    CHECK(sqlite3_prepare_v2(db,
                             "UPDATE credentials SET access_token = ?1"
                             " WHERE account_id = ?2",
                             -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_blob(s, 1, blob, len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, id);
    CHECK(sqlite3_step(s) == SQLITE_DONE);
    sqlite3_finalize(s);
}

static void
test_credentials_tampered(struct herald_store *st)
{
    struct herald_credentials in = {0};
    struct herald_store_credentials out;
    int64_t id = make_account(st, "x", "tampered");

    in.access_token = "token-t";
    CHECK(herald_store_credentials_put(st, id, &in) == 0);
    CHECK(herald_store_credentials_get(st, id, &out) == 0);
    herald_store_credentials_clear(&out);

    flip_access_token(st, id);
    CHECK(herald_store_credentials_get(st, id, &out) == -EBADMSG);
    CHECK(out.access_token == NULL);
}

static void
test_auth(struct herald_store *st)
{
    struct herald_store_auth in = {0};
    struct herald_store_auth out;
    int64_t acc = make_account(st, "x", "auth-1");
    int64_t n = 0;
    char h3[65];
    char h4[65];
    char sql[512];

    in.network = "x";
    in.owner_id = "owner-9";
    in.owner_email = "o9@example.org";
    in.account_id = acc;
    in.return_url = "https://app.example/back";
    in.verifier = "verifier-abc";
    in.expires_at = now_ms() + 600000;
    CHECK(herald_store_auth_put(st, "state-1", &in) == 0);
    CHECK(herald_store_auth_put(st, "state-1", &in) == -EEXIST);
    CHECK(sql_int(st, "SELECT count(*) FROM auth_attempts"
                      " WHERE state_hash = 'state-1'") == 0);

    CHECK(herald_store_auth_take(st, "state-1", &out) == 0);
    CHECK_STR(out.network, "x");
    CHECK_STR(out.owner_id, "owner-9");
    CHECK_STR(out.owner_email, "o9@example.org");
    CHECK(out.account_id == acc);
    CHECK_STR(out.return_url, "https://app.example/back");
    CHECK_STR(out.verifier, "verifier-abc");
    CHECK(out.expires_at == in.expires_at && out.created_at > 0);
    herald_store_auth_clear(&out);

    CHECK(herald_store_auth_take(st, "state-1", &out) == -EALREADY);
    CHECK(out.network == NULL);
    CHECK(herald_store_auth_take(st, "state-unknown", &out) == -ENOENT);

    /* Expired: refused, and left unused. */
    in.account_id = 0;
    in.verifier = NULL;
    in.expires_at = now_ms() - 1000;
    CHECK(herald_store_auth_put(st, "state-2", &in) == 0);
    CHECK(herald_store_auth_take(st, "state-2", &out) == -ESTALE);
    CHECK(herald_store_auth_take(st, "state-2", &out) == -ESTALE);
    CHECK(sql_int(st, "SELECT count(*) FROM auth_attempts"
                      " WHERE used_at IS NULL") == 1);

    /* A verifier moved to another attempt does not open. */
    in.verifier = "verifier-def";
    in.expires_at = now_ms() + 600000;
    CHECK(herald_store_auth_put(st, "state-3", &in) == 0);
    in.verifier = "verifier-ghi";
    CHECK(herald_store_auth_put(st, "state-4", &in) == 0);
    herald_crypto_sha256_hex("state-3", h3);
    herald_crypto_sha256_hex("state-4", h4);
    snprintf(sql, sizeof(sql),
             "UPDATE auth_attempts SET verifier = (SELECT verifier FROM"
             " auth_attempts WHERE state_hash = '%s') WHERE state_hash = '%s'",
             h4, h3);
    CHECK(sql_exec(st, sql) == SQLITE_OK);
    CHECK(herald_store_auth_take(st, "state-3", &out) == -EBADMSG);
    CHECK(sql_int(st, "SELECT count(*) FROM auth_attempts"
                      " WHERE used_at IS NULL") == 3);

    CHECK(herald_store_auth_purge(st, now_ms(), &n) == 0);
    CHECK(n == 1);
    CHECK(herald_store_auth_take(st, "state-2", &out) == -ENOENT);
}

static void
test_events(struct herald_store *st)
{
    json_t *detail = json_pack("{s:s}", "reason", "revoked");
    int64_t before = sql_int(st, "SELECT count(*) FROM events");

    CHECK(herald_store_event_append(st, "account.disconnected", 5, 0,
                                    detail) == 0);
    CHECK(herald_store_event_append(st, "post.published", 5, 9, NULL) == 0);
    CHECK(herald_store_event_append(st, NULL, 0, 0, NULL) == -EINVAL);
    json_decref(detail);

    CHECK(sql_int(st, "SELECT count(*) FROM events") == before + 2);
    CHECK(sql_int(st, "SELECT count(*) FROM events WHERE type ="
                      " 'account.disconnected' AND account_id = 5 AND"
                      " post_id IS NULL AND json_extract(detail,"
                      " '$.reason') = 'revoked'") == 1);
    CHECK(sql_int(st, "SELECT count(*) FROM events WHERE post_id = 9"
                      " AND detail IS NULL AND at > 0") == 1);
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
    struct herald_error err = {""};
    struct herald_store *st;
    char path[256];
    char cmd[512];

    if (herald_crypto_init() != 0 || !mkdtemp(dir)) {
        fprintf(stderr, "cannot set up the test\n");
        return 2;
    }
    path_in_dir(path, sizeof(path), "test.key");
    if (herald_key_generate_file(path, &err) != 0 ||
        herald_key_load(path, &key, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    herald_crypto_random(other_key.bytes, sizeof(other_key.bytes));

    test_fresh_store();
    test_refusals();
    test_wrong_key();

    path_in_dir(path, sizeof(path), "rows.db");
    st = open_ok(path, NULL);
    test_accounts(st);
    test_credentials(st);
    test_credentials_moved(st);
    test_credentials_tampered(st);
    test_auth(st);
    test_events(st);
    test_transactions(st);
    herald_store_close(st);

    test_planted_logged();

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove '%s'\n", dir);
    return check_done();
}
