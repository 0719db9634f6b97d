/*
 * links.c - the store's one-time reauthorization links.
 *
 * The notifier (notifier.c) puts a link in an email that asks a person
 * to log in again; the API (api_links.c) takes it when the person
 * follows it. The token itself never reaches the store: rows are keyed
 * by its SHA-256, like OAuth states (authorizations.c).
 *
 * Invariant: a link is taken at most once. Reading it, checking that it
 * is unused and unexpired, and marking it used happen in one
 * transaction, and a failure at any step changes nothing.
 */
#include "store.h"

#include <errno.h>

#include "store_private.h"

int
herald_store_link_put(struct herald_store *st, const char *token,
                      int64_t account_id, int64_t event_id, int64_t expires_at)
{
    static const char sql[] =
        "INSERT INTO reauth_links (token_hash, account_id, event_id,"
        " created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";
    char hash[65];
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    if (!token || account_id <= 0 || expires_at <= 0)
        return -EINVAL;
    herald_crypto_sha256_hex(token, hash);
    rc = store_stmt(st, STMT_LINK_INSERT, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, hash, &code);
    store_bind_int(s, 2, account_id, &code);
    store_bind_opt(s, 3, event_id, &code);
    store_bind_int(s, 4, store_now_ms(), &code);
    store_bind_int(s, 5, expires_at, &code);
    return store_run(st, s, code, "record a reauthorization link");
}

/* Reads the link of hash and checks it can be used at now. */
static int
check_link(struct herald_store *st, const char *hash, int64_t now,
           int64_t *account_id)
{
    static const char sql[] = "SELECT account_id, expires_at, used_at"
                              " FROM reauth_links WHERE token_hash = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_LINK_GET, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, hash, &code);
    rc = store_row(st, s, code, "read a reauthorization link");
    if (rc == 0)
        rc = -ENOENT;
    else if (rc == 1 && sqlite3_column_type(s, 2) != SQLITE_NULL)
        rc = -EALREADY;
    else if (rc == 1 && sqlite3_column_int64(s, 1) <= now)
        rc = -ESTALE;
    else if (rc == 1)
        *account_id = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return rc == 1 ? 0 : rc;
}

static int
mark_used(struct herald_store *st, const char *hash, int64_t now)
{
    static const char sql[] = "UPDATE reauth_links SET used_at = ?2"
                              " WHERE token_hash = ?1 AND used_at IS NULL";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_LINK_USE, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, hash, &code);
    store_bind_int(s, 2, now, &code);
    rc = store_run(st, s, code, "use a reauthorization link");
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        rc = -EALREADY;
    return rc;
}

int
herald_store_link_take(struct herald_store *st, const char *token, int64_t now,
                       int64_t *account_id)
{
    char hash[65];
    int rc;

    *account_id = 0;
    if (!token)
        return -ENOENT;
    herald_crypto_sha256_hex(token, hash);
    rc = herald_store_begin(st);
    if (rc < 0)
        return rc;
    rc = check_link(st, hash, now, account_id);
    if (rc == 0)
        rc = mark_used(st, hash, now);
    rc = store_tx_finish(st, rc);
    if (rc < 0)
        *account_id = 0;
    return rc;
}
