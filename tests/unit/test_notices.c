/*
 * test_notices.c - the store's notices: the cursor, adding (once per
 * event and channel), folding a group, reading back the sealed body,
 * listing and filtering, due order, attempts and their outcomes, the
 * recovery of attempts a crash left open, and the last status event of
 * an account.
 *
 * The notices live in one store in the fixture's directory
 * (store_fixture.h) and are checked through the API and raw SQL.
 */
#include <errno.h>

#include <sodium.h>

#include "check.h"
#include "store_fixture.h"

static int64_t
add(struct herald_store *st, int64_t event_id, const char *type,
    enum herald_notice_channel channel, const char *group, int64_t due)
{
    struct herald_store_notice in = {0};
    const char *body = "Subject: secret link inside\r\n";
    int64_t id = 0;

    in.channel = channel;
    in.event_id = event_id;
    in.event_type = type;
    in.account_id = 7;
    in.recipient = channel == HERALD_NOTICE_EMAIL ? "o@example.test" : NULL;
    in.group_key = group;
    in.next_attempt_at = due;
    CHECK(herald_store_notice_add(st, &in, body, strlen(body), &id) == 0);
    return id;
}

static void
test_cursor(struct herald_store *st)
{
    int64_t at = -1;

    CHECK(herald_store_notice_cursor(st, &at) == 0 && at == 0);
    CHECK(herald_store_notice_cursor_set(st, 41) == 0);
    CHECK(herald_store_notice_cursor_set(st, 42) == 0);
    CHECK(herald_store_notice_cursor(st, &at) == 0 && at == 42);
    CHECK(sql_int(st, "SELECT count(*) FROM notice_cursor") == 1);
}

static void
test_add_and_read(struct herald_store *st)
{
    struct herald_store_notice in = {0}, n;
    int64_t id =
        add(st, 100, "account.disconnected", HERALD_NOTICE_EMAIL, NULL, 0);
    int64_t other, unused;
    char *body = NULL;
    size_t len = 0;

    CHECK(id > 0);
    CHECK(herald_store_notice_get(st, id, &n) == 0);
    CHECK(n.channel == HERALD_NOTICE_EMAIL);
    CHECK(n.status == HERALD_NOTICE_PENDING);
    CHECK(n.event_id == 100 && n.account_id == 7 && n.post_id == 0);
    CHECK_STR(n.event_type, "account.disconnected");
    CHECK_STR(n.recipient, "o@example.test");
    CHECK(n.events == 1 && n.attempts == 0 && n.next_attempt_at > 0);
    herald_store_notice_clear(&n);

    CHECK(herald_store_notice_body(st, id, &body, &len) == 0);
    CHECK_STR(body, "Subject: secret link inside\r\n");
    CHECK(len == strlen("Subject: secret link inside\r\n"));
    sodium_memzero(body, len);
    free(body);
    /* Sealed at rest. */
    CHECK(sql_int(st, "SELECT count(*) FROM notices WHERE instr(body,"
                      " 'secret link') > 0") == 0);

    /* Once per event and channel; the other channel is another notice. */
    in.channel = HERALD_NOTICE_EMAIL;
    in.event_id = 100;
    in.event_type = "account.disconnected";
    CHECK(herald_store_notice_add(st, &in, "x", 1, &other) == -EEXIST);
    in.channel = HERALD_NOTICE_WEBHOOK;
    CHECK(herald_store_notice_add(st, &in, "x", 1, &other) == 0);
    CHECK(herald_store_notice_add(st, &in, NULL, 0, &unused) == -EINVAL);
    in.event_type = NULL;
    CHECK(herald_store_notice_add(st, &in, "x", 1, &unused) == -EINVAL);

    CHECK(herald_store_notice_get(st, 999999, &n) == -ENOENT);
    CHECK(herald_store_notice_body(st, 999999, &body, &len) == -ENOENT);

    /* A body moved to another row no longer opens. */
    CHECK(sql_exec(st, "UPDATE notices SET body = (SELECT body FROM"
                       " notices WHERE event_id = 100 AND channel ="
                       " 'email') WHERE event_id = 100 AND channel ="
                       " 'webhook'") == SQLITE_OK);
    CHECK(herald_store_notice_body(st, other, &body, &len) == -EBADMSG);
}

static void
test_fold(struct herald_store *st)
{
    struct herald_store_notice n;
    int64_t id, folded;

    CHECK(herald_store_notice_fold(st, "post.blocked:7:3",
                                   HERALD_NOTICE_WEBHOOK, &folded) == -ENOENT);
    id = add(st, 200, "post.blocked", HERALD_NOTICE_WEBHOOK,
             "post.blocked:7:3", 0);
    for (int i = 0; i < 49; i++)
        CHECK(herald_store_notice_fold(st, "post.blocked:7:3",
                                       HERALD_NOTICE_WEBHOOK, &folded) == 0 &&
              folded == id);
    CHECK(herald_store_notice_get(st, id, &n) == 0 && n.events == 50);
    CHECK_STR(n.group_key, "post.blocked:7:3");
    herald_store_notice_clear(&n);

    /* A second notice for the group cannot exist. */
    {
        struct herald_store_notice in = {0};
        int64_t other;

        in.channel = HERALD_NOTICE_WEBHOOK;
        in.event_id = 201;
        in.event_type = "post.blocked";
        in.group_key = "post.blocked:7:3";
        CHECK(herald_store_notice_add(st, &in, "x", 1, &other) == -EEXIST);
    }
}

/* Expired posts fold into the account's email that has not gone yet. */
static void
test_fold_open(struct herald_store *st)
{
    int64_t id, folded, event_id, events, attempt;
    char *body = NULL;
    size_t len = 0;

    CHECK(herald_store_notice_fold_open(st, 7, "post.expired",
                                        HERALD_NOTICE_EMAIL, &folded,
                                        &event_id, &events) == -ENOENT);
    id = add(st, 300, "post.expired", HERALD_NOTICE_EMAIL,
             "post.expired:7:300", 0);
    CHECK(herald_store_notice_fold_open(st, 7, "post.expired",
                                        HERALD_NOTICE_EMAIL, &folded,
                                        &event_id, &events) == 0);
    CHECK(folded == id && event_id == 300 && events == 2);
    /* Another account, channel or type is not folded in. */
    CHECK(herald_store_notice_fold_open(st, 8, "post.expired",
                                        HERALD_NOTICE_EMAIL, &folded,
                                        &event_id, &events) == -ENOENT);
    CHECK(herald_store_notice_fold_open(st, 7, "post.expired",
                                        HERALD_NOTICE_WEBHOOK, &folded,
                                        &event_id, &events) == -ENOENT);

    /* The body is rewritten, sealed to the notice's first event. */
    CHECK(herald_store_notice_rewrite(st, id, 300, HERALD_NOTICE_EMAIL,
                                      "Subject: 2 posts\r\n", 18) == 0);
    CHECK(herald_store_notice_body(st, id, &body, &len) == 0);
    CHECK_STR(body, "Subject: 2 posts\r\n");
    free(body);
    CHECK(herald_store_notice_rewrite(st, id, 300, HERALD_NOTICE_EMAIL, NULL,
                                      0) == -EINVAL);

    /* Once an attempt began, later expiries make a notice of their own. */
    CHECK(herald_store_notice_attempt_begin(st, id, 1, 2, &attempt) == 0);
    CHECK(herald_store_notice_fold_open(st, 7, "post.expired",
                                        HERALD_NOTICE_EMAIL, &folded,
                                        &event_id, &events) == -ENOENT);
    CHECK(herald_store_notice_rewrite(st, id, 300, HERALD_NOTICE_EMAIL, "x",
                                      1) == -ESTALE);
}

static void
test_attempts(struct herald_store *st)
{
    struct herald_store_notice_end end = {0};
    struct herald_store_notice n;
    int64_t now = now_ms();
    int64_t id = add(st, 300, "account.degraded", HERALD_NOTICE_WEBHOOK, NULL,
                     now - 10);
    int64_t attempt = 0, ids[16];
    size_t count = 0;
    json_t *log = NULL;

    CHECK(herald_store_notices_due(st, now, ids, 16, &count) == 0);
    CHECK(count >= 1);
    CHECK(herald_store_notice_attempt_begin(st, id, now, now + 60000,
                                            &attempt) == 0);
    CHECK(attempt > 0);
    /* Leased: not due again while in flight. */
    CHECK(herald_store_notices_due(st, now, ids, 16, &count) == 0);
    for (size_t i = 0; i < count; i++)
        CHECK(ids[i] != id);

    end.outcome = "refused";
    end.code = 500;
    end.error = "the receiver answered HTTP 500";
    end.status = HERALD_NOTICE_PENDING;
    end.next_attempt_at = now + 1000;
    CHECK(herald_store_notice_attempt_end(st, id, attempt, &end) == 0);
    CHECK(herald_store_notice_get(st, id, &n) == 0);
    CHECK(n.attempts == 1 && n.status == HERALD_NOTICE_PENDING);
    CHECK(n.next_attempt_at == now + 1000);
    CHECK_STR(n.last_error, "the receiver answered HTTP 500");
    herald_store_notice_clear(&n);

    CHECK(herald_store_notice_attempt_begin(st, id, now, now + 60000,
                                            &attempt) == 0);
    memset(&end, 0, sizeof(end));
    end.outcome = "delivered";
    end.code = 204;
    end.status = HERALD_NOTICE_DELIVERED;
    CHECK(herald_store_notice_attempt_end(st, id, attempt, &end) == 0);
    CHECK(herald_store_notice_get(st, id, &n) == 0);
    CHECK(n.status == HERALD_NOTICE_DELIVERED && n.attempts == 2);
    CHECK(n.next_attempt_at == 0 && n.delivered_at > 0);
    CHECK(n.last_error == NULL);
    herald_store_notice_clear(&n);
    /* Delivered: no more attempts. */
    CHECK(herald_store_notice_attempt_begin(st, id, now, now + 1, &attempt) ==
          -ESTALE);

    CHECK(herald_store_notice_attempts(st, id, &log) == 0);
    CHECK(json_array_size(log) == 2);
    CHECK_STR(
        json_string_value(json_object_get(json_array_get(log, 0), "outcome")),
        "refused");
    CHECK(json_integer_value(
              json_object_get(json_array_get(log, 0), "code")) == 500);
    CHECK(json_is_null(json_object_get(json_array_get(log, 1), "error")));
    json_decref(log);
}

static void
test_recover(struct herald_store *st)
{
    struct herald_store_notice n;
    int64_t now = now_ms();
    int64_t id =
        add(st, 400, "post.failed", HERALD_NOTICE_WEBHOOK, NULL, now - 5);
    int64_t attempt, reopened = 0;

    CHECK(herald_store_notice_attempt_begin(st, id, now, now + 3600000,
                                            &attempt) == 0);
    /* The daemon stops here; at the next start: */
    CHECK(herald_store_notices_recover(st, now + 5, &reopened) == 0);
    CHECK(reopened == 1);
    CHECK(herald_store_notice_get(st, id, &n) == 0);
    CHECK(n.next_attempt_at == now + 5 && n.attempts == 1);
    herald_store_notice_clear(&n);
    CHECK(sql_int(st, "SELECT count(*) FROM notice_attempts WHERE"
                      " ended_at IS NULL") == 0);
    CHECK(sql_int(st, "SELECT count(*) FROM notice_attempts WHERE"
                      " outcome = 'interrupted'") == 1);
    CHECK(herald_store_notices_recover(st, now, &reopened) == 0);
    CHECK(reopened == 0);
}

static void
test_list(struct herald_store *st)
{
    struct herald_store_notice_filter f = {.status = -1, .channel = -1};
    struct herald_store_notice rows[64];
    size_t n = 0;

    CHECK(herald_store_notice_list(st, &f, rows, 64, &n) == 0);
    CHECK(n >= 5);
    for (size_t i = 1; i < n; i++)
        CHECK(rows[i].id > rows[i - 1].id);
    for (size_t i = 0; i < n; i++)
        herald_store_notice_clear(&rows[i]);

    f.channel = HERALD_NOTICE_EMAIL;
    CHECK(herald_store_notice_list(st, &f, rows, 64, &n) == 0);
    CHECK(n == 1 && rows[0].channel == HERALD_NOTICE_EMAIL);
    herald_store_notice_clear(&rows[0]);

    f.channel = -1;
    f.status = HERALD_NOTICE_DELIVERED;
    CHECK(herald_store_notice_list(st, &f, rows, 64, &n) == 0);
    CHECK(n == 1);
    CHECK_STR(rows[0].event_type, "account.degraded");
    herald_store_notice_clear(&rows[0]);

    f.status = -1;
    f.event_type = "post.blocked";
    CHECK(herald_store_notice_list(st, &f, rows, 1, &n) == 0 && n == 1);
    herald_store_notice_clear(&rows[0]);
    f.event_type = NULL;
    f.account_id = 8;
    CHECK(herald_store_notice_list(st, &f, rows, 64, &n) == 0 && n == 0);
}

static void
test_names(void)
{
    enum herald_notice_channel c;
    enum herald_notice_status s;

    CHECK_STR(herald_store_notice_channel_name(HERALD_NOTICE_WEBHOOK),
              "webhook");
    CHECK_STR(herald_store_notice_status_name(HERALD_NOTICE_FAILED), "failed");
    CHECK(herald_store_notice_channel_parse("email", &c) == 0 &&
          c == HERALD_NOTICE_EMAIL);
    CHECK(herald_store_notice_channel_parse("sms", &c) == -EINVAL);
    CHECK(herald_store_notice_status_parse("delivered", &s) == 0 &&
          s == HERALD_NOTICE_DELIVERED);
    CHECK(herald_store_notice_status_parse(NULL, &s) == -EINVAL);
}

static void
test_last_status_event(struct herald_store *st)
{
    char type[32];
    int64_t id = 0, before;

    CHECK(herald_store_notice_last_status_event(st, 70, 1000000, type,
                                                sizeof(type), &id) == -ENOENT);
    CHECK(herald_store_event_append(st, "account.connected", 70, 0, NULL) ==
          0);
    CHECK(herald_store_event_append(st, "account.disconnected", 70, 0, NULL) ==
          0);
    CHECK(herald_store_event_append(st, "post.blocked", 70, 5, NULL) == 0);
    before = sql_int(st, "SELECT max(id) FROM events");
    CHECK(herald_store_notice_last_status_event(st, 70, before, type,
                                                sizeof(type), &id) == 0);
    CHECK_STR(type, "account.disconnected");
    CHECK(id == before - 1);
    CHECK(herald_store_notice_last_status_event(st, 70, before - 1, type,
                                                sizeof(type), &id) == 0);
    CHECK_STR(type, "account.connected");
}

int
main(void)
{
    struct herald_store *st;
    char path[256];

    fixture_setup();
    path_in_dir(path, sizeof(path), "notices.db");
    st = open_ok(path, NULL);
    test_names();
    test_cursor(st);
    test_add_and_read(st);
    test_fold(st);
    test_attempts(st);
    test_recover(st);
    test_list(st);
    test_last_status_event(st);
    test_fold_open(st);
    herald_store_close(st);
    fixture_teardown();
    return check_done();
}
