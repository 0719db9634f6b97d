/*
 * test_links.c - one-time reauthorization links: kept by hash only,
 * taken once, refused once expired or unknown, and a use rolled back
 * with its caller's transaction leaves the link usable.
 */
#include <errno.h>

#include "check.h"
#include "store_fixture.h"

#define TOKEN "q8G2xkZr0pW4sV6bN1mC3lK5jH7gF9dS2aQ4wE6rT8y"

static void
test_links(struct herald_store *st, int64_t account)
{
    int64_t now = now_ms();
    int64_t got = 0;

    CHECK(herald_store_link_put(st, TOKEN, account, 12, now + 60000) == 0);
    CHECK(herald_store_link_put(st, TOKEN, account, 12, now + 60000) ==
          -EEXIST);
    CHECK(herald_store_link_put(st, NULL, account, 12, now) == -EINVAL);
    CHECK(herald_store_link_put(st, "t", 0, 12, now) == -EINVAL);
    CHECK(sql_int(st, "SELECT count(*) FROM reauth_links WHERE"
                      " token_hash = '" TOKEN "'") == 0);

    /* A use rolled back with its caller's transaction is no use. */
    CHECK(herald_store_begin(st) == 0);
    CHECK(herald_store_link_take(st, TOKEN, now, &got) == 0);
    CHECK(got == account);
    herald_store_rollback(st);

    CHECK(herald_store_link_take(st, TOKEN, now, &got) == 0);
    CHECK(got == account);
    CHECK(herald_store_link_take(st, TOKEN, now, &got) == -EALREADY);
    CHECK(got == 0);
    CHECK(herald_store_link_take(st, "unknown", now, &got) == -ENOENT);
    CHECK(herald_store_link_take(st, NULL, now, &got) == -ENOENT);

    CHECK(herald_store_link_put(st, "expiring-token", account, 0,
                                now + 1000) == 0);
    CHECK(herald_store_link_take(st, "expiring-token", now + 1000, &got) ==
          -ESTALE);
    CHECK(herald_store_link_take(st, "expiring-token", now + 999, &got) == 0);
}

int
main(void)
{
    struct herald_store *st;
    char path[256];

    fixture_setup();
    path_in_dir(path, sizeof(path), "links.db");
    st = open_ok(path, NULL);
    test_links(st, make_account(st, "linkedin", "li-1"));
    herald_store_close(st);
    fixture_teardown();
    return check_done();
}
