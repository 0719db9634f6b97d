/*
 * authorizations.c - the store's OAuth authorization attempts: what a
 * connect or reauthorize request leaves behind for the callback that
 * finishes it.
 *
 * Starting a connect or reauthorize records an attempt before the person
 * is sent to the network's login page (herald_store_auth_put()), the
 * OAuth callback consumes it (herald_store_auth_take()), and expired ones
 * are deleted with herald_store_auth_purge(). The raw state never
 * reaches the store:
 * rows are keyed by its SHA-256, and the PKCE verifier is sealed with
 * associated data naming that row ("herald:auth_attempts:HASH:verifier").
 *
 * Invariant: an attempt is consumed at most once. Reading it, checking
 * it is unused and unexpired, and marking it used happen in one
 * transaction, and a failure at any step changes nothing.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_private.h"

static void
ad_verifier(char *ad, size_t len, const char *state_hash)
{
    snprintf(ad, len, "herald:auth_attempts:%s:verifier", state_hash);
}

static int
insert_auth(struct herald_store *st, const char *hash,
            const struct herald_store_auth *in, const struct sealed *verifier)
{
    static const char sql[] =
        "INSERT INTO auth_attempts (state_hash, network, owner_id,"
        " owner_email, account_id, return_url, verifier, created_at,"
        " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_AUTH_INSERT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, hash, &code);
    store_bind_text(s, 2, in->network, &code);
    store_bind_text(s, 3, in->owner_id, &code);
    store_bind_text(s, 4, in->owner_email, &code);
    store_bind_opt(s, 5, in->account_id, &code);
    store_bind_text(s, 6, in->return_url, &code);
    store_bind_sealed(s, 7, verifier, &code);
    store_bind_int(s, 8, in->created_at ? in->created_at : store_now_ms(),
                   &code);
    store_bind_int(s, 9, in->expires_at, &code);
    return store_run(st, s, code, "record an authorization attempt");
}

int
herald_store_auth_put(struct herald_store *st, const char *state,
                      const struct herald_store_auth *in)
{
    struct sealed verifier = {NULL, 0};
    char hash[65];
    char ad[STORE_AD_MAX];
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
    char ad[STORE_AD_MAX];
    int rc = 0;

    if (sqlite3_column_type(s, 8) != SQLITE_NULL)
        return -EALREADY;
    if (sqlite3_column_int64(s, 7) <= now)
        return -ESTALE;

    store_col_text(s, 0, &out->network, &rc);
    store_col_text(s, 1, &out->owner_id, &rc);
    store_col_text(s, 2, &out->owner_email, &rc);
    out->account_id = sqlite3_column_int64(s, 3);
    store_col_text(s, 4, &out->return_url, &rc);
    out->created_at = sqlite3_column_int64(s, 6);
    out->expires_at = sqlite3_column_int64(s, 7);
    if (rc < 0)
        return rc;

    ad_verifier(ad, sizeof(ad), hash);
    rc = store_col_sealed(st, s, 5, ad, &verifier);
    out->verifier = verifier;
    return rc;
}

static int
load_auth(struct herald_store *st, const char *hash, int64_t now,
          struct herald_store_auth *out)
{
    static const char sql[] =
        "SELECT network, owner_id, owner_email, account_id, return_url,"
        " verifier, created_at, expires_at, used_at FROM auth_attempts"
        " WHERE state_hash = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_AUTH_GET, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, hash, &code);
    rc = store_row(st, s, code, "read an authorization attempt");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_auth(st, s, hash, now, out);
    store_stmt_done(s);
    return rc;
}

static int
mark_auth_used(struct herald_store *st, const char *hash, int64_t now)
{
    static const char sql[] = "UPDATE auth_attempts SET used_at = ?2"
                              " WHERE state_hash = ?1 AND used_at IS NULL";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_AUTH_USE, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, hash, &code);
    store_bind_int(s, 2, now, &code);
    rc = store_run(st, s, code, "use an authorization attempt");
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        rc = -EALREADY;
    return rc;
}

int
herald_store_auth_take(struct herald_store *st, const char *state,
                       struct herald_store_auth *out)
{
    int64_t now = store_now_ms();
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
    rc = store_tx_finish(st, rc);

    if (rc == -EBADMSG)
        HLOG(LOG_ERR, STORE_SUBSYSTEM,
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
    store_free_str(a->network);
    store_free_str(a->owner_id);
    store_free_str(a->owner_email);
    store_free_str(a->return_url);
    store_wipe_str(a->verifier);
    memset(a, 0, sizeof(*a));
}

int
herald_store_auth_purge(struct herald_store *st, int64_t before, int64_t *n)
{
    static const char sql[] =
        "DELETE FROM auth_attempts WHERE expires_at < ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_AUTH_PURGE, sql, &s);

    if (n)
        *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, before, &code);
    rc = store_run(st, s, code, "purge authorization attempts");
    if (rc == 0 && n)
        *n = sqlite3_changes(st->db);
    return rc;
}

/* store_reseal()'s associated data of an attempt: column 0 is the
 * state's hash. */
static void
ad_verifier_row(sqlite3_stmt *row, const char *field, char *ad, size_t len)
{
    (void)field;
    ad_verifier(ad, len, (const char *)sqlite3_column_text(row, 0));
}

int
store_auth_reseal(struct herald_store *st, const struct herald_key *to,
                  int64_t *count, struct herald_error *err)
{
    static const struct store_reseal verifiers = {
        .what = "authorization attempt",
        .select = "SELECT state_hash, verifier FROM auth_attempts"
                  " WHERE state_hash > ?1 AND verifier IS NOT NULL"
                  " ORDER BY state_hash LIMIT 1",
        .update = "UPDATE auth_attempts SET verifier = ?2"
                  " WHERE state_hash = ?1",
        .text_key = 1,
        .field = "verifier",
        .ad = ad_verifier_row,
    };

    return store_reseal(st, to, &verifiers, count, err);
}
