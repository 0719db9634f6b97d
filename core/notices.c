/*
 * notices.c - the store's notices: what the notifier has to deliver, on
 * which channel, how each attempt went, and how far it has read the
 * audit trail.
 *
 * The notifier (notifier.c) reads events after its cursor, adds the
 * notices they lead to and moves the cursor in one transaction, so a
 * restart neither loses an event nor notifies one twice. A notice is
 * pending until an attempt delivers it, or failed once its attempts run
 * out; each attempt is a row of its own, begun before the mail or the
 * request leaves and ended with its outcome.
 *
 * Invariant: a notice's body is sealed with the store's key and bound to
 * its event and channel ("herald:notices:EVENT:CHANNEL"), because an
 * email carries a one-time link; nothing else here is secret.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

static const char *const channel_names[] = {"email", "webhook"};
static const char *const status_names[] = {"pending", "delivered", "failed"};

#define COUNT_OF(a) (sizeof(a) / sizeof(*(a)))

const char *
herald_store_notice_channel_name(enum herald_notice_channel c)
{
    return (size_t)c < COUNT_OF(channel_names) ? channel_names[c] : "unknown";
}

const char *
herald_store_notice_status_name(enum herald_notice_status s)
{
    return (size_t)s < COUNT_OF(status_names) ? status_names[s] : "unknown";
}

/* Finds name in names[]; returns its index or -1. */
static int
find_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

int
herald_store_notice_channel_parse(const char *name,
                                  enum herald_notice_channel *out)
{
    int i = find_name(channel_names, COUNT_OF(channel_names), name);

    if (i < 0)
        return -EINVAL;
    *out = (enum herald_notice_channel)i;
    return 0;
}

int
herald_store_notice_status_parse(const char *name,
                                 enum herald_notice_status *out)
{
    int i = find_name(status_names, COUNT_OF(status_names), name);

    if (i < 0)
        return -EINVAL;
    *out = (enum herald_notice_status)i;
    return 0;
}

/* The cursor */

int
herald_store_notice_cursor(struct herald_store *st, int64_t *event_id)
{
    static const char sql[] =
        "SELECT event_id FROM notice_cursor WHERE id = 1";
    sqlite3_stmt *s;
    int rc = store_stmt(st, STMT_NOTICE_CURSOR_GET, sql, &s);

    *event_id = 0;
    if (rc < 0)
        return rc;
    rc = store_row(st, s, SQLITE_OK, "read the notice cursor");
    if (rc == 1)
        *event_id = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return rc < 0 ? rc : 0;
}

int
herald_store_notice_cursor_set(struct herald_store *st, int64_t event_id)
{
    static const char sql[] =
        "INSERT INTO notice_cursor (id, event_id) VALUES (1, ?1)"
        " ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_CURSOR_SET, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, event_id, &code);
    return store_run(st, s, code, "move the notice cursor");
}

/* Adding and folding */

static void
ad_body(char *ad, size_t len, int64_t event_id,
        enum herald_notice_channel channel)
{
    snprintf(ad, len, "herald:notices:%lld:%s", (long long)event_id,
             herald_store_notice_channel_name(channel));
}

static int
insert_notice(struct herald_store *st, const struct herald_store_notice *in,
              const struct sealed *body, int64_t now)
{
    static const char sql[] =
        "INSERT INTO notices (channel, event_id, event_type, account_id,"
        " post_id, recipient, group_key, next_attempt_at, body, created_at,"
        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_INSERT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_text(s, 1, herald_store_notice_channel_name(in->channel),
                    &code);
    store_bind_int(s, 2, in->event_id, &code);
    store_bind_text(s, 3, in->event_type, &code);
    store_bind_opt(s, 4, in->account_id, &code);
    store_bind_opt(s, 5, in->post_id, &code);
    store_bind_text(s, 6, in->recipient, &code);
    store_bind_text(s, 7, in->group_key, &code);
    store_bind_int(s, 8, in->next_attempt_at ? in->next_attempt_at : now,
                   &code);
    store_bind_sealed(s, 9, body, &code);
    store_bind_int(s, 10, now, &code);
    return store_run(st, s, code, "add a notice");
}

int
herald_store_notice_add(struct herald_store *st,
                        const struct herald_store_notice *in, const char *body,
                        size_t body_len, int64_t *id)
{
    struct sealed sealed = {NULL, 0};
    char ad[STORE_AD_MAX];
    int rc;

    *id = 0;
    if (!in->event_type || in->event_id <= 0 || !body || body_len == 0)
        return -EINVAL;
    ad_body(ad, sizeof(ad), in->event_id, in->channel);
    rc =
        herald_crypto_seal(&st->key, ad, body, body_len, &sealed.p, &sealed.n);
    if (rc == 0)
        rc = insert_notice(st, in, &sealed, store_now_ms());
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(st->db);
    free(sealed.p);
    return rc;
}

int
herald_store_notice_fold(struct herald_store *st, const char *group_key,
                         enum herald_notice_channel channel, int64_t *id)
{
    static const char sql[] =
        "UPDATE notices SET events = events + 1, updated_at = ?3"
        " WHERE group_key = ?1 AND channel = ?2";
    static const char find[] =
        "SELECT id FROM notices WHERE group_key = ?1 AND channel = ?2";
    const char *name = herald_store_notice_channel_name(channel);
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_FOLD, sql, &s);

    *id = 0;
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, group_key, &code);
    store_bind_text(s, 2, name, &code);
    store_bind_int(s, 3, store_now_ms(), &code);
    rc = store_run(st, s, code, "fold an event into a notice");
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = -ENOENT;
    if (rc == 0)
        rc = store_stmt(st, STMT_NOTICE_FOLD_ID, find, &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, group_key, &code);
    store_bind_text(s, 2, name, &code);
    rc = store_row(st, s, code, "find a notice");
    if (rc == 1)
        *id = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
herald_store_notice_fold_open(struct herald_store *st, int64_t account_id,
                              const char *event_type,
                              enum herald_notice_channel channel, int64_t *id,
                              int64_t *event_id, int64_t *events)
{
    static const char sql[] =
        "UPDATE notices SET events = events + 1, updated_at = ?4"
        " WHERE id = (SELECT id FROM notices WHERE account_id = ?1"
        "  AND event_type = ?2 AND channel = ?3 AND group_key IS NOT NULL"
        "  AND status = 'pending' AND attempts = 0"
        "  ORDER BY id DESC LIMIT 1)"
        " RETURNING id, event_id, events";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_FOLD_OPEN, sql, &s);

    *id = *event_id = *events = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    store_bind_text(s, 2, event_type, &code);
    store_bind_text(s, 3, herald_store_notice_channel_name(channel), &code);
    store_bind_int(s, 4, store_now_ms(), &code);
    rc = store_row(st, s, code, "fold an event into a waiting notice");
    if (rc == 1) {
        *id = sqlite3_column_int64(s, 0);
        *event_id = sqlite3_column_int64(s, 1);
        *events = sqlite3_column_int64(s, 2);
    }
    store_stmt_done(s);
    return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

int
herald_store_notice_rewrite(struct herald_store *st, int64_t id,
                            int64_t event_id,
                            enum herald_notice_channel channel,
                            const char *body, size_t body_len)
{
    static const char sql[] =
        "UPDATE notices SET body = ?2, updated_at = ?3"
        " WHERE id = ?1 AND status = 'pending' AND attempts = 0";
    struct sealed sealed = {NULL, 0};
    char ad[STORE_AD_MAX];
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    if (!body || body_len == 0)
        return -EINVAL;
    ad_body(ad, sizeof(ad), event_id, channel);
    rc =
        herald_crypto_seal(&st->key, ad, body, body_len, &sealed.p, &sealed.n);
    if (rc == 0)
        rc = store_stmt(st, STMT_NOTICE_REWRITE, sql, &s);
    if (rc == 0) {
        store_bind_int(s, 1, id, &code);
        store_bind_sealed(s, 2, &sealed, &code);
        store_bind_int(s, 3, store_now_ms(), &code);
        rc = store_run(st, s, code, "rewrite a notice");
        if (rc == 0 && sqlite3_changes(st->db) != 1)
            rc = -ESTALE;
    }
    free(sealed.p);
    return rc;
}

/* Reading */

/* The columns every read of a notice selects, in read_notice()'s order. */
#define NOTICE_COLUMNS                                                        \
    "id, channel, event_id, event_type, account_id, post_id, recipient,"      \
    " group_key, events, status, attempts, next_attempt_at, last_error,"      \
    " created_at, updated_at, delivered_at"

static int
read_notice(sqlite3_stmt *s, struct herald_store_notice *out)
{
    enum herald_notice_channel channel = HERALD_NOTICE_EMAIL;
    enum herald_notice_status status = HERALD_NOTICE_PENDING;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    herald_store_notice_channel_parse((const char *)sqlite3_column_text(s, 1),
                                      &channel);
    herald_store_notice_status_parse((const char *)sqlite3_column_text(s, 9),
                                     &status);
    out->id = sqlite3_column_int64(s, 0);
    out->channel = channel;
    out->event_id = sqlite3_column_int64(s, 2);
    store_col_text(s, 3, &out->event_type, &rc);
    out->account_id = sqlite3_column_int64(s, 4);
    out->post_id = sqlite3_column_int64(s, 5);
    store_col_text(s, 6, &out->recipient, &rc);
    store_col_text(s, 7, &out->group_key, &rc);
    out->events = sqlite3_column_int64(s, 8);
    out->status = status;
    out->attempts = sqlite3_column_int64(s, 10);
    out->next_attempt_at = sqlite3_column_int64(s, 11);
    store_col_text(s, 12, &out->last_error, &rc);
    out->created_at = sqlite3_column_int64(s, 13);
    out->updated_at = sqlite3_column_int64(s, 14);
    out->delivered_at = sqlite3_column_int64(s, 15);
    if (rc < 0)
        herald_store_notice_clear(out);
    return rc;
}

int
herald_store_notice_get(struct herald_store *st, int64_t id,
                        struct herald_store_notice *out)
{
    static const char sql[] =
        "SELECT " NOTICE_COLUMNS " FROM notices WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_GET, sql, &s);

    memset(out, 0, sizeof(*out));
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    rc = store_row(st, s, code, "read a notice");
    if (rc == 1)
        rc = read_notice(s, out);
    else if (rc == 0)
        rc = -ENOENT;
    store_stmt_done(s);
    return rc;
}

void
herald_store_notice_clear(struct herald_store_notice *n)
{
    if (!n)
        return;
    store_free_str(n->event_type);
    store_free_str(n->recipient);
    store_free_str(n->group_key);
    store_free_str(n->last_error);
    memset(n, 0, sizeof(*n));
}

int
herald_store_notice_body(struct herald_store *st, int64_t id, char **body,
                         size_t *len)
{
    static const char sql[] =
        "SELECT body, event_id, channel FROM notices WHERE id = ?1";
    enum herald_notice_channel channel = HERALD_NOTICE_EMAIL;
    char ad[STORE_AD_MAX];
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_BODY, sql, &s);

    *body = NULL;
    *len = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    rc = store_row(st, s, code, "read a notice's body");
    if (rc == 1) {
        herald_store_notice_channel_parse(
            (const char *)sqlite3_column_text(s, 2), &channel);
        ad_body(ad, sizeof(ad), sqlite3_column_int64(s, 1), channel);
        rc = store_col_sealed(st, s, 0, ad, body);
    } else if (rc == 0) {
        rc = -ENOENT;
    }
    store_stmt_done(s);
    if (rc == 0 && *body)
        *len = strlen(*body);
    return rc;
}

int
herald_store_notice_list(struct herald_store *st,
                         const struct herald_store_notice_filter *f,
                         struct herald_store_notice *out, size_t max,
                         size_t *n)
{
    static const char sql[] =
        "SELECT " NOTICE_COLUMNS " FROM notices WHERE id > ?1"
        " AND (?2 IS NULL OR account_id = ?2)"
        " AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR channel = ?4)"
        " AND (?5 IS NULL OR event_type = ?5) ORDER BY id LIMIT ?6";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_LIST, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, f->after_id, &code);
    store_bind_opt(s, 2, f->account_id, &code);
    store_bind_text(s, 3,
                    f->status >= 0 ? herald_store_notice_status_name(
                                         (enum herald_notice_status)f->status)
                                   : NULL,
                    &code);
    store_bind_text(s, 4,
                    f->channel >= 0
                        ? herald_store_notice_channel_name(
                              (enum herald_notice_channel)f->channel)
                        : NULL,
                    &code);
    store_bind_text(s, 5, f->event_type, &code);
    store_bind_int(s, 6, (int64_t)max, &code);
    while (*n < max && (rc = store_row(st, s, code, "list notices")) == 1) {
        rc = read_notice(s, &out[*n]);
        if (rc < 0)
            break;
        (*n)++;
    }
    store_stmt_done(s);
    if (rc < 0) {
        for (size_t i = 0; i < *n; i++)
            herald_store_notice_clear(&out[i]);
        *n = 0;
        return rc;
    }
    return 0;
}

int
herald_store_notices_due(struct herald_store *st, int64_t now, int64_t *ids,
                         size_t max, size_t *n)
{
    static const char sql[] =
        "SELECT id FROM notices WHERE next_attempt_at IS NOT NULL"
        " AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_DUE, sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, now, &code);
    store_bind_int(s, 2, (int64_t)max, &code);
    while (*n < max && (rc = store_row(st, s, code, "read due notices")) == 1)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return rc < 0 ? rc : 0;
}

/* Attempts */

static int
begin_notice(struct herald_store *st, int64_t id, int64_t now,
             int64_t lease_until)
{
    static const char sql[] =
        "UPDATE notices SET attempts = attempts + 1, next_attempt_at = ?2,"
        " updated_at = ?3 WHERE id = ?1 AND status = 'pending'";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_BEGIN, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_int(s, 2, lease_until, &code);
    store_bind_int(s, 3, now, &code);
    rc = store_run(st, s, code, "begin a notice attempt");
    if (rc == 0 && sqlite3_changes(st->db) != 1)
        rc = -ESTALE;
    return rc;
}

static int
insert_attempt(struct herald_store *st, int64_t id, int64_t now)
{
    static const char sql[] =
        "INSERT INTO notice_attempts (notice_id, started_at) VALUES (?1, ?2)";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_ATTEMPT_INSERT, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_int(s, 2, now, &code);
    return store_run(st, s, code, "record a notice attempt");
}

int
herald_store_notice_attempt_begin(struct herald_store *st, int64_t id,
                                  int64_t now, int64_t lease_until,
                                  int64_t *attempt_id)
{
    int rc = herald_store_begin(st);

    *attempt_id = 0;
    if (rc < 0)
        return rc;
    rc = begin_notice(st, id, now, lease_until);
    if (rc == 0)
        rc = insert_attempt(st, id, now);
    if (rc == 0)
        *attempt_id = sqlite3_last_insert_rowid(st->db);
    return store_tx_finish(st, rc);
}

static int
end_attempt(struct herald_store *st, int64_t attempt_id, int64_t now,
            const struct herald_store_notice_end *end)
{
    static const char sql[] =
        "UPDATE notice_attempts SET ended_at = ?2, outcome = ?3, code = ?4,"
        " error = ?5 WHERE id = ?1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_ATTEMPT_END, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, attempt_id, &code);
    store_bind_int(s, 2, now, &code);
    store_bind_text(s, 3, end->outcome, &code);
    store_bind_opt(s, 4, end->code, &code);
    store_bind_text(s, 5, end->error, &code);
    return store_run(st, s, code, "end a notice attempt");
}

static int
end_notice(struct herald_store *st, int64_t id, int64_t now,
           const struct herald_store_notice_end *end)
{
    static const char sql[] =
        "UPDATE notices SET status = ?2, next_attempt_at = ?3,"
        " last_error = ?4, updated_at = ?5, delivered_at = ?6 WHERE id = ?1";
    int pending = end->status == HERALD_NOTICE_PENDING;
    int delivered = end->status == HERALD_NOTICE_DELIVERED;
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_END, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, id, &code);
    store_bind_text(s, 2, herald_store_notice_status_name(end->status), &code);
    store_bind_opt(s, 3, pending ? end->next_attempt_at : 0, &code);
    store_bind_text(s, 4, end->error, &code);
    store_bind_int(s, 5, now, &code);
    store_bind_opt(s, 6, delivered ? now : 0, &code);
    return store_run(st, s, code, "end a notice");
}

int
herald_store_notice_attempt_end(struct herald_store *st, int64_t id,
                                int64_t attempt_id,
                                const struct herald_store_notice_end *end)
{
    int64_t now = store_now_ms();
    int rc = herald_store_begin(st);

    if (rc < 0)
        return rc;
    rc = end_attempt(st, attempt_id, now, end);
    if (rc == 0)
        rc = end_notice(st, id, now, end);
    return store_tx_finish(st, rc);
}

/* Reads the current row of an attempt query into a new JSON object. */
static json_t *
read_attempt(sqlite3_stmt *s)
{
    json_t *a = json_object();
    static const char *const names[] = {"id",      "started_at", "ended_at",
                                        "outcome", "code",       "error"};

    for (int i = 0; a && i < 6; i++) {
        json_t *v;

        switch (sqlite3_column_type(s, i)) {
        case SQLITE_NULL:
            v = json_null();
            break;
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(s, i));
            break;
        default:
            v = json_string((const char *)sqlite3_column_text(s, i));
            break;
        }
        if (json_object_set_new(a, names[i], v) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int
herald_store_notice_attempts(struct herald_store *st, int64_t id, json_t **out)
{
    static const char sql[] =
        "SELECT id, started_at, ended_at, outcome, code, error"
        " FROM notice_attempts WHERE notice_id = ?1 ORDER BY id";
    json_t *list = json_array();
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = list ? store_stmt(st, STMT_NOTICE_ATTEMPTS, sql, &s) : -ENOMEM;

    *out = NULL;
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    store_bind_int(s, 1, id, &code);
    while ((rc = store_row(st, s, code, "list notice attempts")) == 1) {
        json_t *a = read_attempt(s);

        if (!a || json_array_append_new(list, a) != 0) {
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

/* Runs one of recover's two statements: each binds now only. */
static int
run_with_now(struct herald_store *st, enum store_stmt id, const char *sql,
             int64_t now, const char *what)
{
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, id, sql, &s);

    if (rc < 0)
        return rc;
    store_bind_int(s, 1, now, &code);
    return store_run(st, s, code, what);
}

int
herald_store_notices_recover(struct herald_store *st, int64_t now, int64_t *n)
{
    static const char notices[] =
        "UPDATE notices SET next_attempt_at = ?1, updated_at = ?1"
        " WHERE status = 'pending' AND id IN"
        " (SELECT notice_id FROM notice_attempts WHERE ended_at IS NULL)";
    static const char attempts[] =
        "UPDATE notice_attempts SET ended_at = ?1, outcome = 'interrupted',"
        " error = 'interrupted by a stop or a restart' WHERE ended_at IS NULL";
    int rc = herald_store_begin(st);

    if (n)
        *n = 0;
    if (rc < 0)
        return rc;
    rc = run_with_now(st, STMT_NOTICE_RECOVER_NOTICES, notices, now,
                      "recover notices");
    if (rc == 0 && n)
        *n = sqlite3_changes(st->db);
    if (rc == 0)
        rc = run_with_now(st, STMT_NOTICE_RECOVER_ATTEMPTS, attempts, now,
                          "recover notice attempts");
    return store_tx_finish(st, rc);
}

int
herald_store_notice_last_status_event(struct herald_store *st,
                                      int64_t account_id, int64_t before_id,
                                      char *type, size_t type_len, int64_t *id)
{
    static const char sql[] =
        "SELECT id, type FROM events WHERE account_id = ?1 AND id < ?2"
        " AND type IN ('account.connected', 'account.reconnected',"
        " 'account.disconnected') ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, STMT_NOTICE_LAST_STATUS, sql, &s);

    *id = 0;
    type[0] = '\0';
    if (rc < 0)
        return rc;
    store_bind_int(s, 1, account_id, &code);
    store_bind_int(s, 2, before_id, &code);
    rc = store_row(st, s, code, "read an account's last status event");
    if (rc == 1) {
        *id = sqlite3_column_int64(s, 0);
        snprintf(type, type_len, "%s",
                 (const char *)sqlite3_column_text(s, 1));
    }
    store_stmt_done(s);
    return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* store_reseal()'s associated data of a notice: its event id and
 * channel are columns 2 and 3. */
static void
ad_body_row(sqlite3_stmt *row, const char *field, char *ad, size_t len)
{
    enum herald_notice_channel channel = HERALD_NOTICE_EMAIL;

    (void)field;
    herald_store_notice_channel_parse(
        (const char *)sqlite3_column_text(row, 3), &channel);
    ad_body(ad, len, sqlite3_column_int64(row, 2), channel);
}

int
store_notices_reseal(struct herald_store *st, const struct herald_key *to,
                     int64_t *count, struct herald_error *err)
{
    static const struct store_reseal bodies = {
        .what = "notice",
        .select = "SELECT id, body, event_id, channel FROM notices"
                  " WHERE id > ?1 ORDER BY id LIMIT 1",
        .update = "UPDATE notices SET body = ?2 WHERE id = ?1",
        .field = "body",
        .ad = ad_body_row,
    };

    return store_reseal(st, to, &bodies, count, err);
}
