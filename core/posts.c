/*
 * posts.c - the store's posts and their publish attempts, and the holds
 * that keep requests back until a rate limit resets.
 *
 * Its callers are the posts API (create, read, list, cancel, retry) and
 * the scheduler (promote due posts, pick each account's next one, begin
 * and end attempts, reconcile after a crash).
 *
 * Invariant: a post changes status only through a guarded UPDATE that
 * names the statuses it may leave (herald_store_post_move(),
 * herald_store_attempt_begin()), so two writers can never both move it;
 * an attempt row exists, committed, before any request is sent for it.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

static const char *const status_names[] = {
    [HERALD_POST_SCHEDULED] = "scheduled",
    [HERALD_POST_QUEUED] = "queued",
    [HERALD_POST_PUBLISHING] = "publishing",
    [HERALD_POST_PUBLISHED] = "published",
    [HERALD_POST_RETRYING] = "retrying",
    [HERALD_POST_BLOCKED] = "blocked",
    [HERALD_POST_FAILED] = "failed",
    [HERALD_POST_CANCELED] = "canceled",
    [HERALD_POST_EXPIRED] = "expired",
    [HERALD_POST_UNKNOWN] = "unknown",
};

#define STATUS_COUNT (sizeof(status_names) / sizeof(status_names[0]))

/* The columns read_post() reads, in its order. */
#define POST_COLUMNS                                                          \
    "p.id, p.owner_id, p.account_id, p.target, p.text, p.link, p.media,"      \
    " p.scheduled_at, p.status, p.attempts, p.next_attempt_at,"               \
    " p.remote_id, p.remote_url, p.reason, p.first_attempt_at,"               \
    " p.created_at, p.updated_at, p.expire_after_s"

const char *
herald_store_post_status_name(enum herald_post_status s)
{
    if ((unsigned)s >= STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

int
herald_store_post_status_parse(const char *name, enum herald_post_status *s)
{
    for (unsigned i = 0; i < STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *s = (enum herald_post_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

int
herald_store_post_create(struct herald_store *st,
                         const struct herald_store_post *in, int64_t *id)
{
    static const char sql[] =
        "INSERT INTO posts (owner_id, account_id, target, text, link, media,"
        " scheduled_at, status, next_attempt_at, created_at, updated_at,"
        " expire_after_s)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'scheduled', ?7, ?8, ?8, ?9)";
    char *media = NULL;
    sqlite3_stmt *s = NULL;
    int code = SQLITE_OK;
    int rc;

    *id = 0;
    if (!in->owner_id || in->account_id <= 0 || in->scheduled_at <= 0)
        return -EINVAL;
    rc = store_dump_json(in->media, &media);
    if (rc == 0)
        rc = store_stmt(st, STMT_POST_INSERT, sql, &s);
    if (rc == 0) {
        store_bind_text(s, 1, in->owner_id, &code);
        store_bind_int(s, 2, in->account_id, &code);
        store_bind_text(s, 3, in->target, &code);
        store_bind_text(s, 4, in->text ? in->text : "", &code);
        store_bind_text(s, 5, in->link, &code);
        store_bind_text(s, 6, media, &code);
        store_bind_int(s, 7, in->scheduled_at, &code);
        store_bind_int(s, 8, store_now_ms(), &code);
        if (in->expire_after_s != 0)
            store_bind_int(
                s, 9, in->expire_after_s < 0 ? 0 : in->expire_after_s, &code);
        rc = store_run(st, s, code, "create a post");
    }
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(st->db);
    free(media);
    return rc;
}

static int
read_post(sqlite3_stmt *s, struct herald_store_post *p)
{
    const char *status = NULL;
    int rc = 0;

    p->id = sqlite3_column_int64(s, 0);
    store_col_text(s, 1, &p->owner_id, &rc);
    p->account_id = sqlite3_column_int64(s, 2);
    store_col_text(s, 3, &p->target, &rc);
    store_col_text(s, 4, &p->text, &rc);
    store_col_text(s, 5, &p->link, &rc);
    store_col_json(s, 6, &p->media, &rc);
    p->scheduled_at = sqlite3_column_int64(s, 7);
    store_col_text(s, 8, &status, &rc);
    p->attempts = sqlite3_column_int64(s, 9);
    p->next_attempt_at = sqlite3_column_int64(s, 10);
    store_col_text(s, 11, &p->remote_id, &rc);
    store_col_text(s, 12, &p->remote_url, &rc);
    store_col_text(s, 13, &p->reason, &rc);
    p->first_attempt_at = sqlite3_column_int64(s, 14);
    p->created_at = sqlite3_column_int64(s, 15);
    p->updated_at = sqlite3_column_int64(s, 16);
    /* The column holds NULL for the engine's limit and 0 for none. */
    p->expire_after_s = sqlite3_column_type(s, 17) == SQLITE_NULL ? 0
                        : sqlite3_column_int64(s, 17) == 0
                            ? -1
                            : sqlite3_column_int64(s, 17);
    if (rc == 0 && herald_store_post_status_parse(status, &p->status) < 0)
        rc = -EIO;
    store_free_str(status);
    return rc;
}

void
herald_store_post_clear(struct herald_store_post *p)
{
    if (!p)
        return;
    store_free_str(p->owner_id);
    store_free_str(p->target);
    store_free_str(p->text);
    store_free_str(p->link);
    json_decref(p->media);
    store_free_str(p->remote_id);
    store_free_str(p->remote_url);
    store_free_str(p->reason);
    memset(p, 0, sizeof(*p));
}

int
herald_store_post_get(struct herald_store *st, int64_t id,
                      struct herald_store_post *out)
{
    static const char sql[] =
        "SELECT " POST_COLUMNS " FROM posts AS p WHERE p.id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = store_stmt(st, STMT_POST_GET, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    rc = store_row(st, s, code, "read a post");
    if (rc == 0)
        rc = -ENOENT;
    if (rc == 1)
        rc = read_post(s, out);
    store_stmt_done(s);
    if (rc < 0)
        herald_store_post_clear(out);
    return rc;
}

int
herald_store_post_list(struct herald_store *st,
                       const struct herald_store_post_filter *f,
                       struct herald_store_post *out, size_t max, size_t *n)
{
    static const char sql[] =
        "SELECT " POST_COLUMNS " FROM posts AS p"
        " JOIN accounts AS a ON a.id = p.account_id"
        " WHERE p.id > ?1 AND (?2 IS NULL OR p.status = ?2)"
        " AND (?3 IS NULL OR p.account_id = ?3)"
        " AND (?4 IS NULL OR p.owner_id = ?4)"
        " AND (?5 IS NULL OR a.network = ?5)"
        " AND (?6 IS NULL OR p.scheduled_at >= ?6)"
        " AND (?7 IS NULL OR p.scheduled_at < ?7)"
        " ORDER BY p.id LIMIT ?8";
    const char *status =
        f->status >= 0
            ? herald_store_post_status_name((enum herald_post_status)f->status)
            : NULL;
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    *n = 0;
    rc = store_stmt(st, STMT_POST_LIST, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, f->after_id, &code);
    store_bind_text(s, 2, status, &code);
    store_bind_opt(s, 3, f->account_id, &code);
    store_bind_text(s, 4, f->owner_id, &code);
    store_bind_text(s, 5, f->network, &code);
    store_bind_opt(s, 6, f->since, &code);
    store_bind_opt(s, 7, f->until, &code);
    store_bind_int(s, 8, (int64_t)max, &code);
    while (*n < max && (rc = store_row(st, s, code, "list posts")) == 1) {
        memset(&out[*n], 0, sizeof(out[*n]));
        rc = read_post(s, &out[(*n)++]);
        if (rc < 0)
            break;
    }
    store_stmt_done(s);
    if (rc < 0) {
        for (size_t i = 0; i < *n; i++)
            herald_store_post_clear(&out[i]);
        *n = 0;
        return rc;
    }
    return 0;
}

static json_t *
read_attempt(sqlite3_stmt *s)
{
    const char *outcome = (const char *)sqlite3_column_text(s, 3);
    const char *message = (const char *)sqlite3_column_text(s, 5);

    return json_pack("{s:I,s:I,s:I,s:s?,s:I,s:s?}", "id",
                     (json_int_t)sqlite3_column_int64(s, 0), "started_at",
                     (json_int_t)sqlite3_column_int64(s, 1), "ended_at",
                     (json_int_t)sqlite3_column_int64(s, 2), "outcome",
                     outcome, "http_status",
                     (json_int_t)sqlite3_column_int64(s, 4), "message",
                     message);
}

int
herald_store_post_attempts(struct herald_store *st, int64_t post_id,
                           json_t **out)
{
    static const char sql[] =
        "SELECT id, started_at, ended_at, outcome, http_status, message"
        " FROM attempts WHERE post_id = ?1 ORDER BY id";
    json_t *list = json_array();
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    *out = NULL;
    rc = list ? store_stmt(st, STMT_POST_ATTEMPTS, sql, &s) : -ENOMEM;
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    store_bind_int(s, 1, post_id, &code);
    while ((rc = store_row(st, s, code, "read attempts")) == 1) {
        if (json_array_append_new(list, read_attempt(s)) != 0) {
            rc = -ENOMEM;
            break;
        }
    }
    store_stmt_done(s);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

/* Binds a status mask as the list of names SQL's IN compares with. */
static void
bind_mask(sqlite3_stmt *s, int first, unsigned mask, int *code)
{
    for (unsigned i = 0; i < STATUS_COUNT; i++) {
        const char *name =
            (mask & HERALD_POST_BIT(i)) ? status_names[i] : NULL;
        store_bind_text(s, first + (int)i, name, code);
    }
}

/* The status is in the mask bound at ?10..?19 by bind_mask(). */
#define STATUS_IN_MASK                                                        \
    "status IN (?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"

int
herald_store_post_move(struct herald_store *st, int64_t id, unsigned from,
                       enum herald_post_status to, const char *reason,
                       int64_t next_attempt_at)
{
    static const char sql[] =
        "UPDATE posts SET status = ?2, reason = ?3, next_attempt_at = ?4,"
        " updated_at = ?5 WHERE id = ?1 AND " STATUS_IN_MASK;
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    if ((unsigned)to >= STATUS_COUNT)
        return -EINVAL;
    rc = store_stmt(st, STMT_POST_MOVE, sql, &s);
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_text(s, 2, status_names[to], &code);
    store_bind_text(s, 3, reason, &code);
    store_bind_opt(s, 4, next_attempt_at, &code);
    store_bind_int(s, 5, store_now_ms(), &code);
    bind_mask(s, 10, from, &code);
    rc = store_run(st, s, code, "move a post");
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        struct herald_store_post p;
        rc = herald_store_post_get(st, id, &p) == 0 ? -ESTALE : -ENOENT;
        herald_store_post_clear(&p);
    }
    return rc;
}

static int
insert_attempt(struct herald_store *st, int64_t id, int64_t now,
               int64_t *attempt_id)
{
    static const char sql[] =
        "INSERT INTO attempts (post_id, started_at) VALUES (?1, ?2)";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ATTEMPT_INSERT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_int(s, 2, now, &code);
    rc = store_run(st, s, code, "record an attempt");
    if (rc == 0)
        *attempt_id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int
herald_store_attempt_begin(struct herald_store *st, int64_t id, int64_t now,
                           int64_t *attempt_id)
{
    static const char sql[] =
        "UPDATE posts SET status = 'publishing', attempts = attempts + 1,"
        " first_attempt_at = coalesce(first_attempt_at, ?2),"
        " next_attempt_at = NULL, updated_at = ?2"
        " WHERE id = ?1 AND status = 'queued'";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    *attempt_id = 0;
    rc = herald_store_begin(st);
    if (rc < 0)
        return rc;
    rc = store_stmt(st, STMT_POST_BEGIN, sql, &s);
    if (rc == 0) {
        store_bind_int(s, 1, id, &code);
        store_bind_int(s, 2, now, &code);
        rc = store_run(st, s, code, "begin an attempt");
    }
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = -ESTALE;
    if (rc == 0)
        rc = insert_attempt(st, id, now, attempt_id);
    return store_tx_finish(st, rc);
}

int
herald_store_attempt_end(struct herald_store *st, int64_t attempt_id,
                         const struct herald_store_attempt_end *end)
{
    static const char sql[] =
        "UPDATE attempts SET ended_at = ?2, outcome = ?3, http_status = ?4,"
        " message = ?5 WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ATTEMPT_END, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, attempt_id, &code);
    store_bind_int(s, 2, store_now_ms(), &code);
    store_bind_text(s, 3, end->outcome, &code);
    store_bind_opt(s, 4, end->http_status, &code);
    store_bind_text(s, 5, end->message, &code);
    return store_run(st, s, code, "end an attempt");
}

int
herald_store_post_published(struct herald_store *st, int64_t id,
                            const char *remote_id, const char *remote_url)
{
    static const char sql[] =
        "UPDATE posts SET status = 'published', remote_id = ?2,"
        " remote_url = ?3, reason = NULL, next_attempt_at = NULL,"
        " updated_at = ?4 WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_POST_PUBLISHED, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_text(s, 2, remote_id, &code);
    store_bind_text(s, 3, remote_url, &code);
    store_bind_int(s, 4, store_now_ms(), &code);
    return store_run(st, s, code, "record a publication");
}

int
herald_store_attempt_open(struct herald_store *st, int64_t post_id,
                          int64_t *attempt_id, json_t **checkpoint)
{
    static const char sql[] =
        "SELECT id, checkpoint FROM attempts WHERE post_id = ?1"
        " AND ended_at IS NULL ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ATTEMPT_OPEN, sql, &s);

    *attempt_id = 0;
    *checkpoint = NULL;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, post_id, &code);
    rc = store_row(st, s, code, "read an open attempt");
    if (rc == 1) {
        *attempt_id = sqlite3_column_int64(s, 0);
        rc = 0;
        store_col_json(s, 1, checkpoint, &rc);
    } else if (rc == 0) {
        rc = -ENOENT;
    }
    store_stmt_done(s);
    return rc;
}

/* Runs a one-value query whose value is an id or time into *v. */
static int
query_one(struct herald_store *st, sqlite3_stmt *s, int code, int64_t *v,
          const char *what)
{
    int rc = store_row(st, s, code, what);

    *v = 0;
    if (rc == 1 && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *v = sqlite3_column_int64(s, 0);
        rc = 0;
    } else if (rc >= 0) {
        rc = -ENOENT;
    }
    store_stmt_done(s);
    return rc;
}

int
herald_store_posts_next_due(struct herald_store *st, int64_t *at)
{
    static const char sql[] = "SELECT min(next_attempt_at) FROM posts"
                              " WHERE next_attempt_at IS NOT NULL";
    sqlite3_stmt *s;
    int rc = store_stmt(st, STMT_POST_NEXT_DUE, sql, &s);

    if (rc < 0)
        return rc;
    return query_one(st, s, SQLITE_OK, at, "find the next due post");
}

int
herald_store_posts_promote(struct herald_store *st, int64_t now, size_t limit,
                           size_t *n)
{
    static const char sql[] =
        "UPDATE posts SET status = 'queued', next_attempt_at = NULL,"
        " updated_at = ?1 WHERE id IN (SELECT id FROM posts"
        " INDEXED BY posts_due"
        " WHERE next_attempt_at <= ?1 AND status IN ('scheduled',"
        " 'retrying') ORDER BY next_attempt_at LIMIT ?2)";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_POST_PROMOTE, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, now, &code);
    store_bind_int(s, 2, (int64_t)limit, &code);
    rc = store_run(st, s, code, "queue due posts");
    if (rc == 0)
        *n = (size_t)sqlite3_changes(st->db);
    return rc;
}

/* Reads the first column of each row of s into ids[], up to max. */
static int
read_ids(struct herald_store *st, sqlite3_stmt *s, int code, int64_t *ids,
         size_t max, size_t *n, const char *what)
{
    int rc = 0;

    *n = 0;
    while (*n < max && (rc = store_row(st, s, code, what)) == 1)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return rc < 0 ? rc : 0;
}

int
herald_store_queued_accounts(struct herald_store *st, int64_t *ids, size_t max,
                             size_t *n)
{
    /* The partial index holds only queued posts: a million scheduled ones
     * cost nothing here, whatever the planner's statistics say. */
    static const char sql[] = "SELECT DISTINCT account_id FROM posts"
                              " INDEXED BY posts_queued"
                              " WHERE status = 'queued' LIMIT ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_QUEUED_ACCOUNTS, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, (int64_t)max, &code);
    return read_ids(st, s, code, ids, max, n, "find queued accounts");
}

int
herald_store_queued_first(struct herald_store *st, int64_t account_id,
                          int64_t *post_id)
{
    static const char sql[] =
        "SELECT id FROM posts WHERE account_id = ?1 AND status = 'queued'"
        " ORDER BY scheduled_at, id LIMIT 1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_QUEUED_FIRST, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    return query_one(st, s, code, post_id, "find an account's next post");
}

int
herald_store_posts_publishing(struct herald_store *st, int64_t *ids,
                              size_t max, size_t *n)
{
    static const char sql[] = "SELECT id FROM posts WHERE status ="
                              " 'publishing' ORDER BY id LIMIT ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_POST_PUBLISHING, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, (int64_t)max, &code);
    return read_ids(st, s, code, ids, max, n, "find interrupted posts");
}

int
herald_store_posts_count(struct herald_store *st, int64_t account_id,
                         enum herald_post_status status, int64_t *n)
{
    static const char sql[] =
        "SELECT count(*) FROM posts WHERE account_id = ?1 AND status = ?2";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_POST_COUNT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    store_bind_text(s, 2, herald_store_post_status_name(status), &code);
    rc = query_one(st, s, code, n, "count posts");
    return rc == -ENOENT ? 0 : rc;
}

int
herald_store_account_hold(struct herald_store *st, int64_t id, int64_t until)
{
    static const char sql[] =
        "UPDATE accounts SET hold_until = ?2 WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_ACCOUNT_HOLD, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_opt(s, 2, until, &code);
    return store_run(st, s, code, "hold an account");
}

int
herald_store_network_hold_get(struct herald_store *st, const char *network,
                              int64_t *until)
{
    static const char sql[] =
        "SELECT hold_until FROM network_holds WHERE network = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NETWORK_HOLD_GET, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, network, &code);
    rc = query_one(st, s, code, until, "read a network hold");
    return rc == -ENOENT ? 0 : rc;
}

int
herald_store_network_hold_set(struct herald_store *st, const char *network,
                              int64_t until)
{
    static const char sql[] =
        "INSERT INTO network_holds (network, hold_until) VALUES (?1, ?2)"
        " ON CONFLICT (network) DO UPDATE SET hold_until = ?2";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NETWORK_HOLD_SET, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, network, &code);
    store_bind_int(s, 2, until, &code);
    return store_run(st, s, code, "hold a network");
}

int
herald_store_post_checkpoint(struct herald_store *st, int64_t post_id,
                             json_t **checkpoint)
{
    static const char sql[] =
        "SELECT checkpoint FROM attempts WHERE post_id = ?1"
        " AND checkpoint IS NOT NULL ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_POST_CHECKPOINT, sql, &s);

    *checkpoint = NULL;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, post_id, &code);
    rc = store_row(st, s, code, "read a checkpoint");
    if (rc == 1) {
        rc = 0;
        store_col_json(s, 0, checkpoint, &rc);
    }
    store_stmt_done(s);
    return rc < 0 ? rc : 0;
}

/* Reads into ids[] (up to max) the posts an account or network has in
 * the from statuses, in their order. */
static int
select_posts(struct herald_store *st, int64_t account_id, const char *network,
             unsigned from, int64_t *ids, size_t max, size_t *n)
{
    static const char sql[] =
        "SELECT p.id FROM posts AS p JOIN accounts AS a"
        " ON a.id = p.account_id WHERE (?1 IS NULL OR p.account_id = ?1)"
        " AND (?2 IS NULL OR a.network = ?2) AND p." STATUS_IN_MASK
        " ORDER BY p.scheduled_at, p.id LIMIT ?3";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_POST_SELECT, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_opt(s, 1, account_id, &code);
    store_bind_text(s, 2, network, &code);
    store_bind_int(s, 3, (int64_t)max, &code);
    bind_mask(s, 10, from, &code);
    return read_ids(st, s, code, ids, max, n, "select posts");
}

int
herald_store_posts_bulk_move(struct herald_store *st, int64_t account_id,
                             const char *network, unsigned from,
                             enum herald_post_status to, int64_t next_at,
                             const char *event, int64_t *moved)
{
    int64_t ids[512];
    size_t n = 0;
    int rc;

    *moved = 0;
    rc = herald_store_begin(st);
    if (rc < 0)
        return rc;
    /* Each round moves what it read, so the next reads further on. */
    do {
        rc = select_posts(st, account_id, network, from, ids, 512, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            struct herald_store_post p;

            rc = herald_store_post_move(st, ids[i], from, to, NULL, next_at);
            if (rc == 0 && event &&
                herald_store_post_get(st, ids[i], &p) == 0) {
                rc = herald_store_event_append(st, event, p.account_id, ids[i],
                                               NULL);
                herald_store_post_clear(&p);
            }
            if (rc == 0)
                (*moved)++;
        }
    } while (rc == 0 && n == 512);
    return store_tx_finish(st, rc);
}
