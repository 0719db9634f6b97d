/*
 * store_fixture.h - what the store's unit tests share: a private
 * directory under /tmp with a key file in it, stores opened there, and
 * raw SQL on a store's own connection for changing the file behind the
 * store's back.
 *
 * Included by test_store.c, test_accounts.c, test_authorizations.c and
 * test_events.c, after check.h. Call fixture_setup() first and
 * fixture_teardown() last, which removes the directory.
 */
#ifndef HERALD_STORE_FIXTURE_H
#define HERALD_STORE_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "check.h"
#include "crypto.h"
#include "store.h"

static char fixture_dir[] = "/tmp/herald-store-XXXXXX";
static struct herald_key key;       /* the key of every test store */
static struct herald_key other_key; /* a random key that matches none */

static inline int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void
path_in_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", fixture_dir, name);
}

/* Makes the directory and both keys; exits with 2 when it cannot. */
static inline void
fixture_setup(void)
{
    struct herald_error err = {""};
    char path[256];

    if (herald_crypto_init() != 0 || !mkdtemp(fixture_dir)) {
        fprintf(stderr, "cannot set up the test\n");
        exit(2);
    }
    path_in_dir(path, sizeof(path), "test.key");
    if (herald_key_generate_file(path, &err) != 0 ||
        herald_key_load(path, &key, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    herald_crypto_random(other_key.bytes, sizeof(other_key.bytes));
}

/* Removes the directory and everything in it. */
static inline void
fixture_teardown(void)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove '%s'\n", fixture_dir);
}

/* Opens a store that must open; exits when it does not. */
static inline struct herald_store *
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
static inline int64_t
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

static inline int
sql_exec(struct herald_store *st, const char *sql)
{
    return sqlite3_exec(herald_store_db(st), sql, NULL, NULL, NULL);
}

/* Creates an active account of owner-1 and returns its id. */
static inline int64_t
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

/* Reads the access token blob of account id, flips one bit, writes it. */
static inline void
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

#endif
