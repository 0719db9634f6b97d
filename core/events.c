/*
 * events.c - the store's audit trail: one row per change of an account's
 * or a post's state, with its time, type and reason.
 *
 * Every module that changes a state appends its event here, inside the
 * same transaction as the change when it has one open, so the trail and
 * the state never disagree.
 *
 * Invariant: the trail is append-only and has no foreign keys, so it
 * outlives the rows it names, and it never holds a secret: callers pass
 * reasons and ids, never tokens.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>

#include "store_private.h"

int
herald_store_event_append(struct herald_store *st, const char *type,
                          int64_t account_id, int64_t post_id,
                          const json_t *detail)
{
    static const char sql[] = "INSERT INTO events (at, type, account_id,"
                              " post_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)";
    char *text = NULL;
    sqlite3_stmt *s = NULL;
    int code = SQLITE_OK;
    int rc;

    if (!type)
        return -EINVAL;
    rc = store_dump_json(detail, &text);
    if (rc == 0)
        rc = store_stmt(st, STMT_EVENT_INSERT, sql, &s);
    if (rc == 0) {
        store_bind_int(s, 1, store_now_ms(), &code);
        store_bind_text(s, 2, type, &code);
        store_bind_opt(s, 3, account_id, &code);
        store_bind_opt(s, 4, post_id, &code);
        store_bind_text(s, 5, text, &code);
        rc = store_run(st, s, code, "append an event");
    }
    free(text);
    return rc;
}

/* Reads the current row of an event query into a new JSON object. */
static json_t *
read_event(sqlite3_stmt *s)
{
    const char *detail = (const char *)sqlite3_column_text(s, 5);
    json_t *e = json_pack("{s:I,s:I,s:s}", "id",
                          (json_int_t)sqlite3_column_int64(s, 0), "at",
                          (json_int_t)sqlite3_column_int64(s, 1), "type",
                          (const char *)sqlite3_column_text(s, 2));

    if (!e)
        return NULL;
    json_object_set_new(e, "account_id",
                        sqlite3_column_type(s, 3) == SQLITE_NULL
                            ? json_null()
                            : json_integer(sqlite3_column_int64(s, 3)));
    json_object_set_new(e, "post_id",
                        sqlite3_column_type(s, 4) == SQLITE_NULL
                            ? json_null()
                            : json_integer(sqlite3_column_int64(s, 4)));
    json_object_set_new(e, "detail",
                        detail ? json_loads(detail, 0, NULL) : json_null());
    return e;
}

int
herald_store_event_list(struct herald_store *st,
                        const struct herald_store_event_filter *f,
                        size_t limit, json_t **out)
{
    static const char sql[] =
        "SELECT id, at, type, account_id, post_id, detail FROM events"
        " WHERE id > ?1 AND (?2 IS NULL OR account_id = ?2)"
        " AND (?3 IS NULL OR type = ?3) AND (?4 IS NULL OR at >= ?4)"
        " AND (?5 IS NULL OR at < ?5) ORDER BY id LIMIT ?6";
    json_t *list = json_array();
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc;

    *out = NULL;
    rc = list ? store_stmt(st, STMT_EVENT_LIST, sql, &s) : -ENOMEM;
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    store_bind_int(s, 1, f->after_id, &code);
    store_bind_opt(s, 2, f->account_id, &code);
    store_bind_text(s, 3, f->type, &code);
    store_bind_opt(s, 4, f->since, &code);
    store_bind_opt(s, 5, f->until, &code);
    store_bind_int(s, 6, (int64_t)limit, &code);
    while ((rc = store_row(st, s, code, "list events")) == 1) {
        json_t *e = read_event(s);

        if (!e || json_array_append_new(list, e) != 0) {
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
