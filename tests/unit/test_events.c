/*
 * test_events.c - the store's audit trail: events are appended with
 * their time, type, ids and detail, and an event without a type is
 * refused.
 *
 * The events live in one store in the fixture's directory
 * (store_fixture.h) and are read back with raw SQL.
 */
#include <errno.h>

#include "check.h"
#include "store_fixture.h"

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

int
main(void)
{
    struct herald_store *st;
    char path[256];

    fixture_setup();

    path_in_dir(path, sizeof(path), "events.db");
    st = open_ok(path, NULL);
    test_events(st);
    herald_store_close(st);

    fixture_teardown();
    return check_done();
}
