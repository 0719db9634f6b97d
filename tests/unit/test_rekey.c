/*
 * test_rekey.c - re-sealing a store under a new key
 * (herald_store_rekey()) and the store's advisory lock (lockfile.c).
 *
 * A store in the fixture's directory gets one value of every sealed kind
 * (credentials with a refresh token and extra, an authorization attempt
 * with a PKCE verifier, a notice body); after a re-key each reads back
 * the same under the new key, the old key no longer opens the store, and
 * every refusal (the same key, a value that does not open) leaves every
 * sealed byte as it was. A re-key killed with SIGKILL at several moments
 * leaves a store that opens with exactly one of the two keys, every
 * value readable under it.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "lockfile.h"
#include "store_fixture.h"

#define STATE "state-of-the-attempt"

/* Fills a new store with one value of each sealed kind. */
static int64_t
fill(struct herald_store *st)
{
    struct herald_store_account a = {
        .network = "twitter",
        .remote_id = "r-1",
        .username = "alice",
        .owner_id = "o-1",
        .status = HERALD_ACCOUNT_ACTIVE,
    };
    struct herald_credentials c = {
        .access_token = "ACCESS-1",
        .refresh_token = "REFRESH-1",
    };
    struct herald_store_auth auth = {
        .network = "twitter",
        .owner_id = "o-1",
        .verifier = "VERIFIER-1",
    };
    struct herald_store_notice n = {
        .channel = HERALD_NOTICE_WEBHOOK,
        .event_id = 5,
        .event_type = "post.published",
    };
    int64_t id = 0;
    int64_t notice = 0;

    CHECK(herald_store_account_create(st, &a, &id) == 0);
    c.extra = json_pack("{s:s}", "page", "PAGE-TOKEN");
    CHECK(herald_store_credentials_put(st, id, &c) == 0);
    json_decref(c.extra);
    auth.expires_at = now_ms() + 600000;
    CHECK(herald_store_auth_put(st, STATE, &auth) == 0);
    CHECK(herald_store_notice_add(st, &n, "BODY-1", 6, &notice) == 0);
    return id;
}

/* Concatenates every sealed blob, in a fixed order, as hex. */
static char *
sealed_bytes(struct herald_store *st)
{
    static const char sql[] =
        "SELECT group_concat(hex(v), '.') FROM ("
        " SELECT access_token AS v FROM credentials"
        " UNION ALL SELECT refresh_token FROM credentials"
        " UNION ALL SELECT extra FROM credentials"
        " UNION ALL SELECT verifier FROM auth_attempts"
        " UNION ALL SELECT body FROM notices"
        " UNION ALL SELECT value FROM meta WHERE key = 'key_check')";
    sqlite3_stmt *s = NULL;
    char *out = NULL;

    if (sqlite3_prepare_v2(herald_store_db(st), sql, -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

/* Reads every sealed value back and checks it is what fill() wrote. */
static void
check_values(struct herald_store *st, int64_t id)
{
    struct herald_store_credentials c;
    struct herald_store_auth auth;
    char *body = NULL;
    size_t len = 0;

    CHECK(herald_store_credentials_get(st, id, &c) == 0);
    CHECK_STR(c.access_token, "ACCESS-1");
    CHECK_STR(c.refresh_token, "REFRESH-1");
    CHECK_STR(json_string_value(json_object_get(c.extra, "page")),
              "PAGE-TOKEN");
    herald_store_credentials_clear(&c);
    CHECK(herald_store_notice_body(st, 1, &body, &len) == 0);
    CHECK(len == 6 && body && memcmp(body, "BODY-1", 6) == 0);
    free(body);
    CHECK(herald_store_auth_take(st, STATE, &auth) == 0);
    CHECK_STR(auth.verifier, "VERIFIER-1");
    herald_store_auth_clear(&auth);
}

static void
test_same_key_is_refused(struct herald_store *st)
{
    struct herald_store_rekey_counts n;
    struct herald_error err = {""};
    char *before = sealed_bytes(st);
    char *after;

    CHECK(herald_store_rekey(st, &key, &n, &err) == -EINVAL);
    CHECK_CONTAINS(err.msg, "the new key is the key store");
    after = sealed_bytes(st);
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
}

/* A value moved to another row fails to open: nothing is re-sealed,
 * although the credentials before it opened fine. */
static void
test_moved_value_rolls_back(const char *path)
{
    struct herald_store_rekey_counts n = {1, 1, 1};
    struct herald_error err = {""};
    struct herald_store *st = open_ok(path, NULL);
    char *before;
    char *after;

    CHECK(sql_exec(st, "INSERT INTO notices (channel, event_id, event_type,"
                       " body, created_at, updated_at) SELECT channel,"
                       " event_id + 1, event_type, body, 0, 0 FROM notices"
                       " WHERE id = 1") == SQLITE_OK);
    before = sealed_bytes(st);
    CHECK(herald_store_rekey(st, &other_key, &n, &err) == -EBADMSG);
    CHECK_CONTAINS(err.msg, "notice '2' (body) in store");
    CHECK_CONTAINS(err.msg, "fails to decrypt");
    CHECK(n.credentials == 0 && n.notices == 0);
    after = sealed_bytes(st);
    CHECK(before && after && strcmp(before, after) == 0);
    CHECK(sql_exec(st, "DELETE FROM notices WHERE id = 2") == SQLITE_OK);
    free(before);
    free(after);
    herald_store_close(st);
}

static void
test_rekey(const char *path, int64_t id)
{
    struct herald_store_rekey_counts n;
    struct herald_error err = {""};
    struct herald_store *st = open_ok(path, NULL);
    char *before = sealed_bytes(st);
    char *after;

    CHECK(herald_store_rekey(st, &other_key, &n, &err) == 0);
    CHECK(n.credentials == 3 && n.authorizations == 1 && n.notices == 1);
    after = sealed_bytes(st);
    CHECK(before && after && strcmp(before, after) != 0);
    herald_store_close(st);
    free(before);
    free(after);

    st = NULL;
    CHECK(herald_store_open(path, NULL, 1000, &key, &st, &err) == -EACCES);
    CHECK(st == NULL);
    CHECK(herald_store_open(path, NULL, 1000, &other_key, &st, &err) == 0);
    if (st)
        check_values(st, id);
    herald_store_close(st);
}

static void
test_lock(const char *path)
{
    struct herald_error err = {""};
    struct herald_lockfile *a = NULL;
    struct herald_lockfile *b = NULL;
    char lock[300];

    CHECK(herald_lockfile_take(path, &a, &err) == 0 && a);
    CHECK(herald_lockfile_take(path, &b, &err) == -EBUSY && !b);
    snprintf(lock, sizeof(lock), "'%s.lock'", path);
    CHECK_CONTAINS(err.msg, "is in use by another herald process");
    CHECK_CONTAINS(err.msg, lock);
    herald_lockfile_release(a);
    CHECK(herald_lockfile_take(path, &b, &err) == 0 && b);
    herald_lockfile_release(b);
    CHECK(herald_lockfile_take("/nonexistent/dir/x.db", &a, &err) == -ENOENT);
    CHECK_CONTAINS(err.msg, "cannot lock store '/nonexistent/dir/x.db'");
}

#define CRASH_NOTICES 4000

/* Adds CRASH_NOTICES notices, each a sealed body, in one transaction. */
static void
fill_many(struct herald_store *st)
{
    struct herald_store_notice n = {
        .channel = HERALD_NOTICE_EMAIL,
        .event_type = "account.disconnected",
    };
    int64_t id = 0;
    int ok = 1;

    CHECK(herald_store_begin(st) == 0);
    for (int i = 1; ok && i <= CRASH_NOTICES; i++) {
        n.event_id = i;
        ok = herald_store_notice_add(st, &n, "a body with a link", 18, &id) ==
             0;
    }
    CHECK(ok);
    CHECK(herald_store_commit(st) == 0);
}

/* Re-keys path from *from to *to in a child killed after delay_us. */
static void
rekey_killed(const char *path, const struct herald_key *from,
             const struct herald_key *to, useconds_t delay_us)
{
    pid_t pid = fork();

    if (pid == 0) {
        struct herald_store_rekey_counts n;
        struct herald_error err = {""};
        struct herald_store *st = NULL;
        int rc = herald_store_open(path, NULL, 1000, from, &st, &err);

        if (rc == 0)
            rc = herald_store_rekey(st, to, &n, &err);
        _exit(rc == 0 ? 0 : 1);
    }
    CHECK(pid > 0);
    usleep(delay_us);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Returns which of the two keys opens path (0 or 1), -1 for neither or
 * both, after reading every notice body back under it. */
static int
key_that_opens(const char *path, const struct herald_key *keys)
{
    struct herald_error err = {""};
    struct herald_store *st[2] = {NULL, NULL};
    int opened[2];
    int which;

    for (int i = 0; i < 2; i++)
        opened[i] =
            herald_store_open(path, NULL, 1000, &keys[i], &st[i], &err) == 0;
    which = opened[0] == opened[1] ? -1 : opened[1];
    for (int64_t id = 1; which >= 0 && id <= CRASH_NOTICES; id++) {
        char *body = NULL;
        size_t len = 0;

        if (herald_store_notice_body(st[which], id, &body, &len) != 0)
            which = -1;
        free(body);
    }
    herald_store_close(st[0]);
    herald_store_close(st[1]);
    return which;
}

static void
test_killed_rekey(void)
{
    static const useconds_t delays[] = {0,     2000,  10000, 15000,
                                        20000, 25000, 30000, 100000};
    struct herald_key keys[2];
    char path[256];
    int current = 0;
    struct herald_store *st;

    path_in_dir(path, sizeof(path), "crash.db");
    keys[0] = key;
    keys[1] = other_key;
    st = open_ok(path, NULL);
    fill_many(st);
    herald_store_close(st);
    for (size_t i = 0; i < sizeof(delays) / sizeof(*delays); i++) {
        rekey_killed(path, &keys[current], &keys[!current], delays[i]);
        current = key_that_opens(path, keys);
        CHECK(current == 0 || current == 1);
        if (current < 0)
            break;
    }
}

int
main(void)
{
    struct herald_store *st;
    char path[256];
    int64_t id;

    fixture_setup();
    path_in_dir(path, sizeof(path), "rekey.db");
    st = open_ok(path, NULL);
    id = fill(st);
    test_same_key_is_refused(st);
    herald_store_close(st);
    test_moved_value_rolls_back(path);
    test_rekey(path, id);
    test_lock(path);
    test_killed_rekey();
    fixture_teardown();
    return check_done();
}
