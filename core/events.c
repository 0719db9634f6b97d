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
