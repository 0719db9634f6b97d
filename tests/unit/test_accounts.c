/*
 * test_accounts.c - the store's accounts and credentials: creating and
 * reading accounts, the one-live-account-per-identity rule, sealed
 * credentials and their versions, the compare-and-swap write that makes
 * a refresh single-flight, and refusing credentials that were moved to
 * another row or field or tampered with.
 *
 * The rows live in one store in the fixture's directory
 * (store_fixture.h); tampering is done with raw SQL through
 * herald_store_db().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "check.h"
#include "store_fixture.h"

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

/* Reads the credentials version of account id; -1 when it has none. */
static int64_t
stored_version(struct herald_store *st, int64_t id)
{
    struct herald_store_credentials c;
    int64_t version = -1;

    if (herald_store_credentials_get(st, id, &c) == 0)
        version = c.version;
    herald_store_credentials_clear(&c);
    return version;
}

/* Checks the access token and expiry stored for account id. */
static void
check_stored(struct herald_store *st, int64_t id, const char *access,
             int64_t expires_at)
{
    struct herald_store_credentials c;
    struct herald_store_account a;

    CHECK(herald_store_credentials_get(st, id, &c) == 0);
    CHECK_STR(c.access_token, access);
    CHECK(c.access_expires_at == expires_at);
    herald_store_credentials_clear(&c);
    CHECK(herald_store_account_get(st, id, &a) == 0);
    CHECK(a.access_expires_at == expires_at);
    herald_store_account_clear(&a);
}

static void
test_credentials_put_if(struct herald_store *st)
{
    struct herald_credentials first = {0};
    struct herald_credentials second = {0};
    int64_t id = make_account(st, "x", "put-if-1");
    char sql[256];

    first.access_token = "access-first";
    first.refresh_token = "refresh-first";
    first.access_expires_at = 1800000000000;
    second.access_token = "access-second";
    second.refresh_token = "refresh-second";
    second.access_expires_at = 1800000007200;

    /* 0 stands for "none stored yet". */
    CHECK(herald_store_credentials_put_if(st, id, 1, &first) == -ESTALE);
    CHECK(stored_version(st, id) == -1);
    CHECK(herald_store_credentials_put_if(st, id, 0, &first) == 0);
    CHECK(stored_version(st, id) == 1);
    CHECK(herald_store_credentials_put_if(st, id, 0, &second) == -ESTALE);
    check_stored(st, id, "access-first", 1800000000000);

    /* Two refreshes read version 1: the first one wins, the second one
     * changes nothing, not even the account's expiry or updated_at. */
    snprintf(sql, sizeof(sql),
             "UPDATE accounts SET updated_at = 1 WHERE id = %lld",
             (long long)id);
    CHECK(sql_exec(st, sql) == SQLITE_OK);
    CHECK(herald_store_credentials_put_if(st, id, 1, &second) == 0);
    CHECK(stored_version(st, id) == 2);
    CHECK(sql_exec(st, sql) == SQLITE_OK);
    CHECK(herald_store_credentials_put_if(st, id, 1, &first) == -ESTALE);
    CHECK(stored_version(st, id) == 2);
    check_stored(st, id, "access-second", 1800000007200);
    snprintf(sql, sizeof(sql),
             "SELECT updated_at FROM accounts WHERE id = %lld", (long long)id);
    CHECK(sql_int(st, sql) == 1);

    /* An unconditional put bumps the version too. */
    CHECK(herald_store_credentials_put(st, id, &first) == 0);
    CHECK(herald_store_credentials_put_if(st, id, 2, &second) == -ESTALE);
    CHECK(herald_store_credentials_put_if(st, id, 3, &second) == 0);
    CHECK(stored_version(st, id) == 4);

    CHECK(herald_store_credentials_put_if(st, 99999, 0, &first) == -ENOENT);
    CHECK(herald_store_credentials_put_if(st, 99999, 4, &first) == -ENOENT);
    CHECK(sql_int(st, "SELECT count(*) FROM credentials"
                      " WHERE account_id = 99999") == 0);
    CHECK(herald_store_credentials_put_if(st, id, -1, &first) == -EINVAL);
    CHECK(stored_version(st, id) == 4);
}

/* Inside the caller's transaction, a stale write undoes only itself. */
static void
test_credentials_put_if_nested(struct herald_store *st)
{
    struct herald_credentials in = {0};
    int64_t id = make_account(st, "x", "put-if-nested");
    int64_t before;
    int64_t other;

    in.access_token = "access-nested";
    CHECK(herald_store_credentials_put(st, id, &in) == 0);
    before = sql_int(st, "SELECT count(*) FROM accounts");

    CHECK(herald_store_begin(st) == 0);
    other = make_account(st, "x", "put-if-nested-other");
    CHECK(herald_store_credentials_put_if(st, id, 0, &in) == -ESTALE);
    CHECK(herald_store_credentials_put_if(st, other, 0, &in) == 0);
    CHECK(herald_store_commit(st) == 0);

    CHECK(sql_int(st, "SELECT count(*) FROM accounts") == before + 1);
    CHECK(stored_version(st, id) == 1);
    CHECK(stored_version(st, other) == 1);
}

/* Two connections to one file, as two processes would have. */
static void
test_credentials_put_if_shared(const char *path)
{
    struct herald_store *a = open_ok(path, NULL);
    struct herald_store *b = open_ok(path, NULL);
    struct herald_credentials in = {0};
    int64_t id = make_account(a, "x", "put-if-shared");
    int64_t seen;

    in.access_token = "access-a";
    CHECK(herald_store_credentials_put(a, id, &in) == 0);
    seen = stored_version(a, id);
    CHECK(seen == 1 && stored_version(b, id) == 1);

    in.access_token = "access-b";
    CHECK(herald_store_credentials_put_if(b, id, seen, &in) == 0);
    in.access_token = "access-a-late";
    CHECK(herald_store_credentials_put_if(a, id, seen, &in) == -ESTALE);
    check_stored(a, id, "access-b", 0);

    herald_store_close(b);
    herald_store_close(a);
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

int
main(void)
{
    struct herald_store *st;
    char path[256];

    fixture_setup();

    path_in_dir(path, sizeof(path), "accounts.db");
    st = open_ok(path, NULL);
    test_accounts(st);
    test_credentials(st);
    test_credentials_put_if(st);
    test_credentials_put_if_nested(st);
    test_credentials_moved(st);
    test_credentials_tampered(st);
    herald_store_close(st);

    test_credentials_put_if_shared(path);

    fixture_teardown();
    return check_done();
}
