/*
 * test_authorizations.c - the store's OAuth authorization attempts:
 * recorded under the hash of their state, consumed exactly once, refused
 * when expired or when their sealed verifier was moved from another
 * attempt, and purged once expired.
 *
 * The attempts live in one store in the fixture's directory
 * (store_fixture.h); moving a verifier is done with raw SQL through
 * herald_store_db().
 */
#include <errno.h>
#include <stdio.h>

#include <sqlite3.h>

#include "check.h"
#include "store_fixture.h"

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

int
main(void)
{
    struct herald_store *st;
    char path[256];

    fixture_setup();

    path_in_dir(path, sizeof(path), "authorizations.db");
    st = open_ok(path, NULL);
    test_auth(st);
    herald_store_close(st);

    fixture_teardown();
    return check_done();
}
