/*
 * counts.c - how many posts and accounts each network has in each state.
 *
 * The counts are not computed here: the triggers of schema version 2
 * (migrations.c) add and subtract with every insert, state change and
 * delete of a post or an account, in the writer's own transaction, so
 * reading them costs a few rows whatever the size of the store. GET
 * /metrics reads them on every scrape; counting a million posts there
 * would hold the loop for most of a second.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_private.h"

int
herald_store_counts(struct herald_store *st, enum herald_store_counted what,
                    struct herald_store_count *out, size_t max, size_t *n)
{
    static const char posts_sql[] =
        "SELECT network, status, n FROM post_counts ORDER BY network, status";
    static const char accounts_sql[] = "SELECT network, status, n FROM"
                                       " account_counts ORDER BY network,"
                                       " status";
    int posts = what == HERALD_STORE_COUNT_POSTS;
    sqlite3_stmt *s;
    int code = SQLITE_OK;
    int rc = store_stmt(st, posts ? STMT_POST_COUNTS : STMT_ACCOUNT_COUNTS,
                        posts ? posts_sql : accounts_sql, &s);

    *n = 0;
    if (rc < 0)
        return rc;
    while (*n < max && (rc = store_row(st, s, code, "read counts")) == 1) {
        struct herald_store_count *c = &out[(*n)++];

        memset(c, 0, sizeof(*c));
        rc = 0;
        store_col_text(s, 0, &c->network, &rc);
        store_col_text(s, 1, &c->status, &rc);
        c->n = sqlite3_column_int64(s, 2);
        if (rc < 0)
            break;
    }
    store_stmt_done(s);
    if (rc < 0) {
        herald_store_counts_clear(out, *n);
        *n = 0;
        return rc;
    }
    return 0;
}

void
herald_store_counts_clear(struct herald_store_count *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        store_free_str(c[i].network);
        store_free_str(c[i].status);
        c[i].network = NULL;
        c[i].status = NULL;
    }
}
