/*
 * test_counts.c - the counts of posts and accounts by network and state
 * that the store's triggers keep (counts.c, schema version 2).
 *
 * Posts and accounts are written through the store's own API and moved
 * with raw SQL, as any writer would; the counts must follow every
 * insert, state change and delete, and the upgrade from version 1 must
 * count what was already there.
 */
#include "check.h"
#include "store_fixture.h"

/* Returns the count of (network, status) in what, -1 when absent. */
static int64_t
count_of(struct herald_store *st, enum herald_store_counted what,
         const char *network, const char *status)
{
    struct herald_store_count c[64];
    size_t n = 0;
    int64_t v = -1;

    CHECK(herald_store_counts(st, what, c, 64, &n) == 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].network, network) == 0 &&
            strcmp(c[i].status, status) == 0)
            v = c[i].n;
    herald_store_counts_clear(c, n);
    return v;
}

static int64_t
make_post(struct herald_store *st, int64_t account_id)
{
    struct herald_store_post p = {0};
    int64_t id = 0;

    p.owner_id = "owner-1";
    p.account_id = account_id;
    p.text = "hello";
    p.scheduled_at = now_ms() + 60000;
    CHECK(herald_store_post_create(st, &p, &id) == 0);
    return id;
}

static void
test_counts_follow_writes(void)
{
    char path[256];
    struct herald_store *st;
    int64_t x, li;

    path_in_dir(path, sizeof(path), "follow.db");
    st = open_ok(path, "normal");
    x = make_account(st, "twitter", "x-1");
    make_account(st, "twitter", "x-2");
    li = make_account(st, "linkedin", "li-1");
    CHECK(count_of(st, HERALD_STORE_COUNT_ACCOUNTS, "twitter", "active") == 2);
    CHECK(count_of(st, HERALD_STORE_COUNT_ACCOUNTS, "linkedin", "active") ==
          1);

    make_post(st, x);
    make_post(st, x);
    make_post(st, li);
    CHECK(count_of(st, HERALD_STORE_COUNT_POSTS, "twitter", "scheduled") == 2);
    CHECK(count_of(st, HERALD_STORE_COUNT_POSTS, "linkedin", "scheduled") ==
          1);

    /* A state change moves one post; a write that keeps it moves none. */
    CHECK(sql_exec(st,
                   "UPDATE posts SET status = 'published'"
                   " WHERE id = (SELECT min(id) FROM posts)") == SQLITE_OK);
    CHECK(sql_exec(st, "UPDATE posts SET text = 'x', status = status") ==
          SQLITE_OK);
    CHECK(count_of(st, HERALD_STORE_COUNT_POSTS, "twitter", "scheduled") == 1);
    CHECK(count_of(st, HERALD_STORE_COUNT_POSTS, "twitter", "published") == 1);

    /* An account's status, then a delete: rows at 0 stay, at 0. */
    CHECK(herald_store_account_set_status(st, li, HERALD_ACCOUNT_DISCONNECTED,
                                          "revoked", now_ms(), 0) == 0);
    CHECK(count_of(st, HERALD_STORE_COUNT_ACCOUNTS, "linkedin", "active") ==
          0);
    CHECK(count_of(st, HERALD_STORE_COUNT_ACCOUNTS, "linkedin",
                   "disconnected") == 1);
    CHECK(sql_int(st, "SELECT count(*) FROM posts WHERE status ="
                      " 'published'") == 1);
    CHECK(sql_exec(st, "DELETE FROM posts WHERE status = 'published'") ==
          SQLITE_OK);
    CHECK(count_of(st, HERALD_STORE_COUNT_POSTS, "twitter", "published") == 0);

    /* The counts agree with counting the tables. */
    CHECK(sql_int(st, "SELECT count(*) FROM (SELECT a.network, p.status,"
                      " count(*) AS n FROM posts p JOIN accounts a"
                      " ON a.id = p.account_id GROUP BY 1, 2) c"
                      " LEFT JOIN post_counts k USING (network, status)"
                      " WHERE k.n IS NOT c.n") == 0);
    CHECK(sql_int(st, "SELECT sum(n) FROM post_counts") == 2);
    herald_store_close(st);
}

static void
test_upgrade_counts_existing_rows(void)
{
    char path[256];
    struct herald_store *st;
    int64_t x;

    path_in_dir(path, sizeof(path), "upgrade.db");
    st = open_ok(path, "normal");
    x = make_account(st, "twitter", "x-1");
    make_post(st, x);
    make_post(st, x);
    /* Back to version 1, as a store made before the counts. */
    CHECK(sql_exec(st, "DROP TRIGGER post_counts_insert;"
                       "DROP TRIGGER post_counts_update;"
                       "DROP TRIGGER post_counts_delete;"
                       "DROP TRIGGER account_counts_insert;"
                       "DROP TRIGGER account_counts_update;"
                       "DROP TRIGGER account_counts_delete;"
                       "DROP TABLE post_counts; DROP TABLE account_counts;"
                       "PRAGMA user_version = 1") == SQLITE_OK);
    herald_store_close(st);

    st = open_ok(path, "normal");
    CHECK(herald_store_schema_version(st) == 2);
    CHECK(count_of(st, HERALD_STORE_COUNT_POSTS, "twitter", "scheduled") == 2);
    CHECK(count_of(st, HERALD_STORE_COUNT_ACCOUNTS, "twitter", "active") == 1);
    make_post(st, x);
    CHECK(count_of(st, HERALD_STORE_COUNT_POSTS, "twitter", "scheduled") == 3);
    herald_store_close(st);
}

static void
test_limit(void)
{
    char path[256];
    struct herald_store *st;
    struct herald_store_count c[1];
    size_t n = 9;

    path_in_dir(path, sizeof(path), "limit.db");
    st = open_ok(path, "normal");
    make_account(st, "twitter", "x-1");
    make_account(st, "linkedin", "li-1");
    CHECK(herald_store_counts(st, HERALD_STORE_COUNT_ACCOUNTS, c, 1, &n) == 0);
    CHECK(n == 1);
    herald_store_counts_clear(c, n);
    herald_store_close(st);
}

int
main(void)
{
    fixture_setup();
    test_counts_follow_writes();
    test_upgrade_counts_existing_rows();
    test_limit();
    fixture_teardown();
    return check_done();
}
