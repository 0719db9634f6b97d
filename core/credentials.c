/*
 * credentials.c - the store's sealed tokens: the credentials table.
 *
 * Callers hand a plugin's credentials to herald_store_credentials_put()
 * and read them back to hand a plugin. An account row carries the expiry
 * and hard deadline of its tokens, so writing credentials updates both
 * tables in one transaction and bumps the credentials version, which
 * herald_store_credentials_put_if() compares to make a refresh
 * single-flight.
 *
 * Invariant: a token reaches SQLite only sealed, with associated data
 * "herald:credentials:ACCOUNT:FIELD" (ad_credentials()), so a value moved
 * to another account or field fails to decrypt instead of being used;
 * plain copies are wiped before they are freed.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_private.h"

/* expected_version of put_credentials() that matches any version. */
#define ANY_VERSION (-1)

/* The credential fields, in the order of their columns. */
static const char *const cred_fields[] = {
    "access_token",
    "refresh_token",
    "extra",
};

#define CRED_FIELDS (sizeof(cred_fields) / sizeof(cred_fields[0]))

static void
ad_credentials(char *ad, size_t len, int64_t account_id, const char *field)
{
    snprintf(ad, len, "herald:credentials:%" PRId64 ":%s", account_id, field);
}

static int
seal_field(struct herald_store *st, int64_t account_id, const char *field,
           const char *plain, struct sealed *out)
{
    char ad[STORE_AD_MAX];

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
    int rc = store_dump_json(c->extra, &extra);
    const char *plain[CRED_FIELDS] = {c->access_token, c->refresh_token,
                                      extra};

    for (size_t i = 0; rc == 0 && i < CRED_FIELDS; i++)
        rc = seal_field(st, account_id, cred_fields[i], plain[i], &out[i]);

    store_wipe_str(extra);
    return rc;
}

/*
 * Returns 0 when the credentials version of account_id is expected (0
 * when it has none yet), -ESTALE when it is another, -ENOENT when there
 * is no such account, or another negative errno value.
 */
static int
expect_version(struct herald_store *st, int64_t account_id, int64_t expected)
{
    static const char sql[] =
        "SELECT c.version FROM accounts AS a LEFT JOIN credentials AS c"
        " ON c.account_id = a.id WHERE a.id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_CREDENTIALS_VERSION, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    rc = store_row(st, s, code, "read credentials");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = sqlite3_column_int64(s, 0) == expected ? 0 : -ESTALE;
    store_stmt_done(s);
    return rc;
}

static int
set_expiry(struct herald_store *st, int64_t account_id,
           const struct herald_credentials *c, int64_t now)
{
    static const char sql[] =
        "UPDATE accounts SET access_expires_at = ?2, hard_deadline = ?3,"
        " updated_at = ?4 WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ACCOUNT_SET_EXPIRY, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    store_bind_opt(s, 2, c->access_expires_at, &code);
    store_bind_opt(s, 3, c->hard_deadline, &code);
    store_bind_int(s, 4, now, &code);
    rc = store_run(st, s, code, "update an account");
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = -ENOENT;
    return rc;
}

static int
write_credentials(struct herald_store *st, int64_t account_id,
                  const struct sealed *v, int64_t now)
{
    static const char sql[] =
        "INSERT INTO credentials (account_id, access_token, refresh_token,"
        " extra, version, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)"
        " ON CONFLICT (account_id) DO UPDATE SET access_token = ?2,"
        " refresh_token = ?3, extra = ?4, version = version + 1,"
        " updated_at = ?5";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_CREDENTIALS_PUT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    for (size_t i = 0; i < CRED_FIELDS; i++)
        store_bind_sealed(s, 2 + (int)i, &v[i], &code);
    store_bind_int(s, 5, now, &code);
    return store_run(st, s, code, "write credentials");
}

/*
 * Seals c and writes it for account_id in one transaction, when the
 * stored version is expected (any version for ANY_VERSION).
 */
static int
put_credentials(struct herald_store *st, int64_t account_id, int64_t expected,
                const struct herald_credentials *c)
{
    struct sealed sealed[CRED_FIELDS] = {{NULL, 0}};
    int64_t now = store_now_ms();
    int rc;

    /* Sealed before the transaction, so the write lock is held briefly. */
    rc = seal_credentials(st, account_id, c, sealed);
    if (rc == 0)
        rc = herald_store_begin(st);
    if (rc == 0) {
        if (expected != ANY_VERSION)
            rc = expect_version(st, account_id, expected);
        if (rc == 0)
            rc = set_expiry(st, account_id, c, now);
        if (rc == 0)
            rc = write_credentials(st, account_id, sealed, now);
        rc = store_tx_finish(st, rc);
    }

    for (size_t i = 0; i < CRED_FIELDS; i++)
        free(sealed[i].p);
    return rc;
}

int
herald_store_credentials_put(struct herald_store *st, int64_t account_id,
                             const struct herald_credentials *c)
{
    return put_credentials(st, account_id, ANY_VERSION, c);
}

int
herald_store_credentials_put_if(struct herald_store *st, int64_t account_id,
                                int64_t expected_version,
                                const struct herald_credentials *c)
{
    if (expected_version < 0)
        return -EINVAL;
    return put_credentials(st, account_id, expected_version, c);
}

static int
read_credentials(struct herald_store *st, sqlite3_stmt *s, int64_t id,
                 struct herald_store_credentials *out)
{
    char *plain[CRED_FIELDS] = {NULL, NULL, NULL};
    char ad[STORE_AD_MAX];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < CRED_FIELDS; i++) {
        ad_credentials(ad, sizeof(ad), id, cred_fields[i]);
        rc = store_col_sealed(st, s, (int)i, ad, &plain[i]);
    }
    out->access_token = plain[0];
    out->refresh_token = plain[1];
    if (rc == 0 && plain[2]) {
        out->extra = json_loads(plain[2], 0, NULL);
        rc = out->extra ? 0 : -EBADMSG;
    }
    store_wipe_str(plain[2]);

    out->version = sqlite3_column_int64(s, 3);
    out->access_expires_at = sqlite3_column_int64(s, 4);
    out->hard_deadline = sqlite3_column_int64(s, 5);
    out->updated_at = sqlite3_column_int64(s, 6);
    return rc;
}

int
herald_store_credentials_get(struct herald_store *st, int64_t account_id,
                             struct herald_store_credentials *out)
{
    static const char sql[] =
        "SELECT c.access_token, c.refresh_token, c.extra, c.version,"
        " a.access_expires_at, a.hard_deadline, c.updated_at"
        " FROM credentials AS c"
        " JOIN accounts AS a ON a.id = c.account_id"
        " WHERE c.account_id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store_stmt(st, STMT_CREDENTIALS_GET, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    rc = store_row(st, s, code, "read credentials");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_credentials(st, s, account_id, out);
    store_stmt_done(s);

    if (rc == -EBADMSG)
        HLOG_ACCOUNT(LOG_ERR, STORE_SUBSYSTEM, account_id, 0,
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
    store_wipe_str(c->access_token);
    store_wipe_str(c->refresh_token);
    json_decref(c->extra);
    memset(c, 0, sizeof(*c));
}

int
store_credentials_erase(struct herald_store *st, int64_t account_id)
{
    static const char sql[] = "DELETE FROM credentials WHERE account_id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_CREDENTIALS_DELETE, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    return store_run(st, s, code, "erase credentials");
}

/* store_reseal()'s associated data of a credentials row: column 0 is
 * the account id. */
static void
ad_credentials_row(sqlite3_stmt *row, const char *field, char *ad, size_t len)
{
    ad_credentials(ad, len, sqlite3_column_int64(row, 0), field);
}

#define RESEAL_CREDENTIALS(col)                                               \
    {                                                                         \
        .what = "credentials of account",                                     \
        .select = "SELECT account_id, " col " FROM credentials"               \
                  " WHERE account_id > ?1 AND " col " IS NOT NULL"            \
                  " ORDER BY account_id LIMIT 1",                             \
        .update = "UPDATE credentials SET " col " = ?2"                       \
                  " WHERE account_id = ?1",                                   \
        .field = col, .ad = ad_credentials_row,                               \
    }

int
store_credentials_reseal(struct herald_store *st, const struct herald_key *to,
                         int64_t *count, struct herald_error *err)
{
    static const struct store_reseal columns[] = {
        RESEAL_CREDENTIALS("access_token"),
        RESEAL_CREDENTIALS("refresh_token"),
        RESEAL_CREDENTIALS("extra"),
    };
    int rc = 0;

    _Static_assert(sizeof(columns) / sizeof(*columns) == CRED_FIELDS,
                   "every credential field is re-sealed");
    for (size_t i = 0; rc == 0 && i < CRED_FIELDS; i++)
        rc = store_reseal(st, to, &columns[i], count, err);
    return rc;
}
